"""`--image` on `slipstream register` and `slipstream run --remote`, typed as a user would, against the
session's sandbox: every task of the batch that names no image of its own gets IMAGE in its registered
spec (the pod's container image); a task's own `container_image` wins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import slipstream, succeeded

pytestmark = pytest.mark.e2e

IMAGE = "ghcr.io/acme/tasks:1.4"
OWN_IMAGE = "registry.example/own:2"
CODE = f'''
from slipstream import task, workflow


@task(container_image="{OWN_IMAGE}")
def own(x: int) -> int:
    return x + 1


@task
def plain(x: int) -> int:
    return x * 2


@workflow
def wf(x: int = 1) -> int:
    return plain(x=own(x=x))
'''


@pytest.fixture()
def home(tmp_path: Path, sandbox, project) -> Path:
    """A SLIPSTREAM_HOME whose config points the CLI at the session's sandbox and this test's project."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"api_url": sandbox.api_url, "project": project}))
    return home


@pytest.fixture()
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "imaged.py").write_text(CODE)
    return folder


def task_spec(home: Path, name: str, version: str) -> dict[str, Any]:
    return json.loads(succeeded(slipstream(home, "get", "tasks", name, "--version", version)).stdout)


def task_versions(home: Path, name: str) -> list[str]:
    page = json.loads(succeeded(slipstream(home, "get", "tasks", name, "--json")).stdout.strip().splitlines()[-1])
    return [e["id"]["version"] for e in page["entities"]]


def one_line_usage_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_register_with_image_sets_it_on_tasks_without_one(home, code):
    succeeded(slipstream(home, "register", str(code), "--version", "v1", "--image", IMAGE))
    assert task_spec(home, "imaged.plain", "v1")["container"]["image"] == IMAGE
    assert task_spec(home, "imaged.own", "v1")["container"]["image"] == OWN_IMAGE  # its own wins


def test_register_without_image_leaves_the_stage_default(home, code):
    succeeded(slipstream(home, "register", str(code), "--version", "v1"))
    assert task_spec(home, "imaged.plain", "v1")["container"]["image"] is None
    assert task_spec(home, "imaged.own", "v1")["container"]["image"] == OWN_IMAGE


def test_another_image_under_a_taken_version_is_refused(home, code):
    succeeded(slipstream(home, "register", str(code), "--version", "v1", "--image", IMAGE))
    done = slipstream(home, "register", str(code), "--version", "v1", "--image", "ghcr.io/acme/tasks:1.5")
    assert "already registered with different content" in one_line_usage_error(done)


def test_an_invalid_image_is_a_usage_error_naming_the_fix(home, code):
    done = slipstream(home, "register", str(code), "--version", "v1", "--image", "Acme Tasks:latest")
    error = one_line_usage_error(done)
    assert "Invalid value for '--image': [Acme Tasks:latest] is not a container image reference" in error
    assert "e.g. ghcr.io/acme/tasks:1.4" in error
    assert slipstream(home, "get", "tasks", "imaged.plain", "--version", "v1").returncode == 2  # nothing registered


def test_run_remote_with_image_registers_the_tasks_with_it(home, code):
    done = succeeded(slipstream(home, "run", "--remote", "--wait", "--json", "--image", IMAGE,
                                str(code / "imaged.py"), "wf", "--x", "3"))
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"o0": 8}
    (version,) = task_versions(home, "imaged.plain")
    assert task_spec(home, "imaged.plain", version)["container"]["image"] == IMAGE
    assert task_spec(home, "imaged.own", version)["container"]["image"] == OWN_IMAGE


def test_run_remote_with_another_image_is_another_version(home, code):
    succeeded(slipstream(home, "run", "--remote", "--image", IMAGE, str(code / "imaged.py"), "wf"))
    succeeded(slipstream(home, "run", "--remote", "--image", "ghcr.io/acme/tasks:1.5", str(code / "imaged.py"), "wf"))
    versions = task_versions(home, "imaged.plain")
    assert len(versions) == 2
    images = {task_spec(home, "imaged.plain", v)["container"]["image"] for v in versions}
    assert images == {IMAGE, "ghcr.io/acme/tasks:1.5"}


def test_image_without_remote_is_a_usage_error(home, code):
    done = slipstream(home, "run", "--image", IMAGE, str(code / "imaged.py"), "wf")
    assert "--image applies to --remote runs" in one_line_usage_error(done)


DYNAMIC = '''
from slipstream import dynamic, task, workflow


@task
def square(x: int) -> int:
    return x * x


@dynamic
def squares(n: int) -> list[int]:
    return [square(x=i) for i in range(n)]


@workflow
def wf(n: int = 3) -> list[int]:
    return squares(n=n)
'''


def test_the_tasks_a_dynamic_task_builds_run_in_its_image(home, tmp_path, sandbox, project):
    (tmp_path / "dyn.py").write_text(DYNAMIC)
    done = succeeded(slipstream(home, "run", "--remote", "--wait", "--json", "--image", IMAGE,
                                str(tmp_path / "dyn.py"), "wf", "--n", "3"))
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"o0": [0, 1, 4]}
    pods = [pod for pod in sandbox.launcher.pods.values() if pod.metadata.namespace == f"{project}-development"]
    children = [pod for pod in pods if pod.metadata.annotations["slipstream.dev/execution"].endswith("/n0")]
    assert len(pods) == 4 and len(children) == 3  # the dynamic task's pod, and the three squares it built
    assert {pod.spec.containers[0].image for pod in pods} == {IMAGE}
