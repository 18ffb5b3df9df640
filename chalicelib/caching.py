"""Task cache identity, shared by the local engine and the dispatcher."""

from __future__ import annotations

from typing import Any

from chalicelib.spec.serialize import content_hash


def cache_key(task_spec: dict[str, Any], inputs: dict[str, Any]) -> str:
    """Flyte's cache identity: same task name, cache_version, interface and inputs in one project/domain.
    The task's version is left out on purpose, so new code keeps its cache until cache_version moves."""
    ident = task_spec["id"]
    return content_hash({
        "project": ident["project"], "domain": ident["domain"], "task": ident["name"],
        "cache_version": task_spec["metadata"]["cache_version"],
        "interface": task_spec["interface"], "inputs": inputs,
    })
