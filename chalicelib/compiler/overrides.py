"""Node-level overrides (flytekit's `.with_overrides(...)` on a call): checked, then applied by the compiler.

A task node may carry `"overrides": {"retries", "timeout_seconds", "cache", "cache_version", "interruptible",
"requests", "limits", "container_image", "name"}`. The compiler gives such a node a task spec of its own —
the called task's spec with the overrides merged, under the same name and the version
`<version>~<digest of the overrides>` — and points the node at it in the compiled closure. Everything
downstream (the ASL compiler's Retry/TimeoutSeconds, the pod builder's resources and image, the cache, both
engines) reads the task spec of the node, so the overrides take effect everywhere without a second code
path. The registered workflow spec keeps the node as written; only its compiled copy is rewritten.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from chalicelib.errors import ValidationError
from chalicelib.spec.entities import Spec, iter_nodes, ref_key
from chalicelib.spec.quantities import quantity_problem

_METADATA = {"retries": "retries", "timeout_seconds": "timeout_seconds", "cache": "cache",
             "cache_version": "cache_version", "interruptible": "interruptible"}
KNOWN = (*_METADATA, "requests", "limits", "container_image", "name")
_RESOURCES = ("cpu", "mem", "gpu", "ephemeral_storage")


def check_overrides(where: str, overrides: Any) -> None:
    """Refuse what a pod or a state machine could not honour, naming the field and the fix."""
    if not isinstance(overrides, dict):
        raise ValidationError(f"{where}: overrides must be an object of {list(KNOWN)}")
    unknown = sorted(set(overrides) - set(KNOWN))
    if unknown:
        raise ValidationError(f"{where}: unknown overrides {unknown}; known ones are {list(KNOWN)}")
    retries = overrides.get("retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100):
        raise ValidationError(f"{where}: override retries [{retries!r}] must be a whole number from 0 to 100")
    timeout = overrides.get("timeout_seconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1):
        raise ValidationError(f"{where}: override timeout [{timeout!r}] must be a whole number of seconds, at "
                              "least 1")
    for flag in ("cache", "interruptible"):
        if flag in overrides and not isinstance(overrides[flag], bool):
            raise ValidationError(f"{where}: override {flag} [{overrides[flag]!r}] must be true or false")
    for text in ("cache_version", "container_image", "name"):
        if text in overrides and (not isinstance(overrides[text], str) or not overrides[text].strip()):
            raise ValidationError(f"{where}: override {text} [{overrides[text]!r}] must be a non-empty string")
    for kind in ("requests", "limits"):
        _check_resources(f"{where}: override {kind}", overrides.get(kind))


def _check_resources(where: str, resources: Any) -> None:
    if resources is None:
        return
    if not isinstance(resources, dict) or set(resources) - set(_RESOURCES):
        raise ValidationError(f"{where} [{resources!r}] must map some of {list(_RESOURCES)} to quantities")
    for name, value in resources.items():
        problem = quantity_problem(name, str(value))
        if problem:
            raise ValidationError(f"{where}: {name} {problem}")


def overridden_task(task: Spec, overrides: dict[str, Any]) -> Spec:
    """`task` with `overrides` merged, under a version naming them (same overrides, same spec)."""
    derived = copy.deepcopy(task)
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:10]
    derived["id"]["version"] = f"{task['id']['version']}~{digest}"
    for field, target in _METADATA.items():
        if field in overrides:
            derived["metadata"][target] = overrides[field]
    for kind in ("requests", "limits"):
        if kind in overrides:  # as flytekit: the node's resources replace the task's
            derived["container"][kind] = {k: str(v) for k, v in overrides[kind].items()}
    if "container_image" in overrides:
        derived["container"]["image"] = overrides["container_image"]
    return derived


def apply_overrides(owner: str, workflow: Spec, tasks: dict[str, Spec]) -> tuple[Spec, dict[str, Spec]]:
    """The workflow with every overridden task node pointing at its own task spec, and those specs by key.
    Returns `workflow` itself (no copy) when no node has overrides."""
    if not any("overrides" in node for node in iter_nodes(workflow["nodes"])):
        return workflow, {}
    rewritten = copy.deepcopy(workflow)
    derived: dict[str, Spec] = {}
    for node in iter_nodes(rewritten["nodes"]):
        if "overrides" not in node:
            continue
        where = f"{owner} node [{node['id']}]"
        if node["kind"] not in ("task", "map"):
            raise ValidationError(f"{where}: with_overrides applies to task and map_task calls, not to a "
                                  f"{node['kind']} node; set these options on the tasks it calls")
        check_overrides(where, node["overrides"])
        base = tasks.get(ref_key(node["task"]))
        if base is None:
            continue  # the compiler names the missing task
        spec = overridden_task(base, node["overrides"])
        node["task"] = dict(spec["id"])
        derived[ref_key(spec["id"])] = spec
    return rewritten, derived
