"""The `task` extra is exactly what a task pod needs: `python -m slipstream.entrypoint` and everything its
run imports lazily load nothing but the standard library, slipstream, chalicelib and the distributions the
extra brings in (boto3 and what it requires).

The check runs in a fresh interpreter of this venv, which holds far more (moto, kubernetes, chalice, …).
A finder placed first on `sys.meta_path` refuses every other top-level import there, as a minimal install
would: an optional import (botocore's `certifi`) falls back as it would in the image, a needed one fails
the import. tests/integration/test_task_image_install.py runs a real task in a venv holding the extra only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata

from packaging.requirements import Requirement

from tests.conftest import ROOT

OWN = {"slipstream", "chalicelib"}
# Entrypoint.run's lazy imports, and what the boto3 clients it makes load on first use
ENTRYPOINT_PATH = """
import slipstream.entrypoint
import slipstream.engine, slipstream.bundle, chalicelib.spec.types, slipstream.type_engine, slipstream.serialization
import boto3
session = boto3.session.Session(region_name="us-east-1")
s3, sfn = session.client("s3"), session.client("stepfunctions")
import boto3.s3.transfer, s3transfer.manager  # upload_file / download_file
"""

PROBE = """
import importlib.abc, json, sys
allowed = set(json.loads(sys.argv[1]))
before = set(sys.modules)
refused = set()

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if path is None and top not in allowed and top not in sys.stdlib_module_names:
            refused.add(top)
            raise ModuleNotFoundError(f"No module named {name!r} (not in the task extra)", name=name)
        return None

sys.meta_path.insert(0, Refuse())
exec(sys.argv[2])
loaded = {m.partition(".")[0] for m in set(sys.modules) - before}
print(json.dumps({"loaded": sorted(loaded), "refused": sorted(refused)}))
"""


def _distributions(requirements: list[str], extras: tuple[str, ...] = ()) -> set[str]:
    """The distributions `requirements` install, recursively, as installed here (markers evaluated)."""
    seen: set[str] = set()
    pending = [(Requirement(r), extras) for r in requirements]
    while pending:
        requirement, wanted = pending.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in wanted or ("",)):
            continue
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for child in metadata.requires(name) or []:
            pending.append((Requirement(child), tuple(requirement.extras)))
    return seen


def task_extra_import_names() -> set[str]:
    """Top-level import names of the distributions `pip install .[task]` adds for the extra."""
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["task"]
    distributions = _distributions(extra)
    names = set()
    for top, owners in metadata.packages_distributions().items():
        if any(owner.lower().replace("_", "-") in distributions for owner in owners):
            names.add(top)
    return names


def probe(code: str, allowed: set[str]) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(sorted(allowed)), code], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, f"importing failed with only the task extra's packages:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_task_extra_is_boto3_and_its_requirements():
    names = task_extra_import_names()
    assert {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"} <= names
    assert not names & {"kubernetes", "pynamodb", "chalice", "moto", "jsonschema", "rich", "click"}


def test_the_entrypoint_loads_nothing_outside_the_task_extra():
    allowed = task_extra_import_names() | OWN
    result = probe(ENTRYPOINT_PATH, allowed)
    outside = {m for m in result["loaded"] if m not in allowed and m not in sys.stdlib_module_names
               and not m.startswith("__")}
    assert outside == set()
    assert {"slipstream", "chalicelib", "boto3", "botocore"} <= set(result["loaded"])
    # what it reached for and did without: optional imports only (the import above succeeded without them)
    assert not set(result["refused"]) & {"kubernetes", "pynamodb", "chalice", "jsonschema", "rich", "click"}


def test_the_probe_refuses_what_the_extra_lacks():
    allowed = task_extra_import_names() | OWN
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(sorted(allowed)), "import pynamodb"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and "No module named 'pynamodb' (not in the task extra)" in done.stderr
