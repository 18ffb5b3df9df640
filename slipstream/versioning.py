"""The default version of registered code: the git commit, marked when the tree has uncommitted changes.

A dirty tree gets `<commit>-dirty-<digest>`, the digest covering the uncommitted changes, so that two
different dirty states never claim the same (immutable) version.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from chalicelib.errors import UserError


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode(errors="replace") if done.returncode == 0 else None


def default_version(paths: list[str]) -> str:
    first = Path(paths[0]).resolve() if paths else Path.cwd()
    cwd = first if first.is_dir() else first.parent
    commit = _git(cwd, "rev-parse", "--short=12", "HEAD")
    if not commit:
        raise UserError(f"[{cwd}] is not in a git repository with a commit; give --version explicitly")
    commit = commit.strip()
    status = _git(cwd, "status", "--porcelain", "--untracked-files=all")
    if not status:
        return commit
    digest = hashlib.sha256()
    digest.update((_git(cwd, "diff", "HEAD") or "").encode())
    top = Path((_git(cwd, "rev-parse", "--show-toplevel") or str(cwd)).strip())
    for line in sorted(status.splitlines()):
        if line.startswith("??"):
            untracked = top / line[3:]
            if untracked.is_file():
                digest.update(line.encode() + untracked.read_bytes())
    return f"{commit}-dirty-{digest.hexdigest()[:8]}"
