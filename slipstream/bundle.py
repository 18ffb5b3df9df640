"""Code bundles for fast registration: a deterministic tar.gz of a source root, named by its sha256, so
the same tree always gives the same bytes and is uploaded once. Pods overlay it before running a task."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from chalicelib.errors import UserError

MAX_BUNDLE_BYTES = 100 * 1024 * 1024
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "build", "dist"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def _included(root: Path, path: Path) -> bool:
    parts = path.relative_to(root).parts
    if any(p.startswith(".") or p in _SKIP_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
        return False
    return not parts[-1].startswith(".") and path.suffix not in _SKIP_SUFFIXES and path.is_file()


def build_bundle(root: Path) -> tuple[bytes, str]:
    """(tar.gz bytes, sha256 hex) of the files under `root`; no timestamps, owners or order leak in."""
    files = sorted(p for p in root.rglob("*") if _included(root, p))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    compressed = gzip.compress(raw.getvalue(), mtime=0)
    if len(compressed) > MAX_BUNDLE_BYTES:
        raise UserError(f"the code bundle of [{root}] is {len(compressed)} bytes, over {MAX_BUNDLE_BYTES}; "
                        "register a smaller folder or move data files out of it")
    return compressed, hashlib.sha256(compressed).hexdigest()


def extract_bundle(data: bytes, target: Path) -> None:
    """Unpack a bundle into `target`, refusing paths that would escape it."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(target, filter="data")
