"""`chalice package` through Chalice's Python API: the app's SAM template, its code zip and its layer zip.

Chalice keeps the zips it builds in `<project>/.chalice/deployments/`, keyed by the hash of the code and of
requirements.txt, so only the first packaging (or one after requirements change) downloads the layer's
dependencies from PyPI; later ones copy the cached zips. Packaging runs on a copy of the project without
bytecode caches, so unchanged code gives the same zip, the same hash and no new upload. No AWS call is made:
the region only picks the partition's service principals.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.errors import UserError
from slipstream.deploy.template import Artifact


@dataclass(frozen=True)
class Packaged:
    sam: dict[str, Any]
    directory: Path  # sam.json and the zips
    artifacts: dict[str, Artifact]  # by the name the template gives them (./deployment.zip, …)

    def path(self, filename: str) -> Path:
        return self.directory / filename.removeprefix("./")


def _is_project(path: Path) -> bool:
    return (path / "app.py").is_file() and (path / ".chalice" / "config.json").is_file()


def find_project_dir(explicit: Path | None = None) -> Path:
    """The Chalice project to package: `explicit`, else the working directory, else the checkout that holds
    the importable `app.py` (an editable install)."""
    if explicit is not None:
        if not _is_project(explicit):
            raise UserError(f"[{explicit}] is not the slipstream project: it needs app.py and .chalice/config.json")
        return explicit.resolve()
    candidates = [Path.cwd()]
    spec = importlib.util.find_spec("app")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent)
    for candidate in candidates:
        if _is_project(candidate):
            return candidate.resolve()
    raise UserError("cannot find the slipstream project (app.py and .chalice/config.json): run from the "
                    "repository checkout or pass --project-dir")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def _stage(project_dir: Path, staged: Path) -> Path:
    """A copy of what Chalice packages, without bytecode caches, sharing the project's zip cache. Chalice zips
    chalicelib/ as it finds it, and __pycache__ differs run to run: the zip's hash would too, so every deploy
    would upload new code and update every function."""
    for directory in ("chalicelib", "vendor"):
        if (project_dir / directory).is_dir():
            shutil.copytree(project_dir / directory, staged / directory, ignore=_BYTECODE)
    for name in ("app.py", "requirements.txt"):
        if (project_dir / name).is_file():
            shutil.copy2(project_dir / name, staged / name)
    (staged / ".chalice").mkdir()
    for config in (project_dir / ".chalice").glob("*.json"):
        shutil.copy2(config, staged / ".chalice" / config.name)
    cache = project_dir / ".chalice" / "deployments"
    cache.mkdir(exist_ok=True)
    (staged / ".chalice" / "deployments").symlink_to(cache, target_is_directory=True)
    return staged


def package(project_dir: Path, stage: str, region: str, out: Path) -> Packaged:
    """Package the app for `stage` into `out` (created if missing)."""
    import botocore.session
    from chalice.awsclient import TypedAWSClient
    from chalice.cli.factory import CLIFactory
    from chalice.package import PackageOptions, create_app_packager

    # Chalice imports app.py from the project it packages: leave this process's modules and path as they were
    imported, path, bytecode = sys.modules.get("app"), list(sys.path), sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        with tempfile.TemporaryDirectory(prefix="slipstream-stage-") as tmp:
            staged = _stage(project_dir, Path(tmp))
            factory = CLIFactory(str(staged))
            config = factory.create_config_obj(stage)
            session = botocore.session.Session()
            session.set_config_variable("region", region)
            options = PackageOptions(TypedAWSClient(session=session))
            packager = create_app_packager(config, options, "cloudformation", "json")
            out.mkdir(parents=True, exist_ok=True)
            packager.package_app(config, str(out), stage)
    finally:
        sys.path[:] = path
        sys.dont_write_bytecode = bytecode
        if imported is None:
            sys.modules.pop("app", None)
        else:
            sys.modules["app"] = imported
    sam = json.loads((out / "sam.json").read_text())
    names = [r["Properties"].get("CodeUri") or r["Properties"].get("ContentUri") for r in sam["Resources"].values()]
    artifacts = {name: Artifact(name, _sha256(out / name.removeprefix("./")))
                 for name in sorted({n for n in names if isinstance(n, str)})}
    return Packaged(sam, out, artifacts)
