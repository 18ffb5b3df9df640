"""The local task cache: outputs of cached tasks keyed by task, cache_version, interface and inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chalicelib.caching import cache_key

__all__ = ["LocalCache", "cache_key", "slipstream_home"]


def slipstream_home() -> Path:
    return Path(os.environ.get("SLIPSTREAM_HOME") or Path.home() / ".slipstream")


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
