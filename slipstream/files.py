"""File and Directory: values that live outside the JSON literals and travel as URIs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class _Blob:
    __slots__ = ("uri",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.uri = os.fspath(path)

    @property
    def path(self) -> str:
        """A local path to the data (the URI itself for local files)."""
        return self.uri[len("file://"):] if self.uri.startswith("file://") else self.uri

    def __fspath__(self) -> str:
        return self.path

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash((type(self), self.uri))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"


class File(_Blob):
    """A file passed between tasks. Tasks receive one whose `.path` they can open."""

    __slots__ = ()

    def open(self, mode: str = "r", **kwargs: Any) -> Any:
        return open(self.path, mode, **kwargs)


class Directory(_Blob):
    """A directory passed between tasks."""

    __slots__ = ()

    def files(self) -> list[Path]:
        return sorted(p for p in Path(self.path).rglob("*") if p.is_file())
