"""The local task cache: outputs of cached tasks keyed by task, cache_version, interface and inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chalicelib.spec.serialize import content_hash


def slipstream_home() -> Path:
    return Path(os.environ.get("SLIPSTREAM_HOME") or Path.home() / ".slipstream")


def cache_key(task_spec: dict[str, Any], inputs: dict[str, Any]) -> str:
    """Flyte's cache identity: same task name, cache_version, interface and inputs in one project/domain.
    The task's version is left out on purpose, so a new code version keeps its cache until cache_version moves."""
    ident = task_spec["id"]
    return content_hash({
        "project": ident["project"], "domain": ident["domain"], "task": ident["name"],
        "cache_version": task_spec["metadata"]["cache_version"],
        "interface": task_spec["interface"], "inputs": inputs,
    })


class LocalCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> LocalCache:
        return cls(slipstream_home() / "cache")

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def put(self, key: str, outputs: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(outputs))
        tmp.replace(path)
