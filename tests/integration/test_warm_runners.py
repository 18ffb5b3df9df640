"""Warm task runners (slipstream/sandbox/runners.py): real zygote and task processes, no servers.

A warm task must look like the fresh process it replaces: the pod's environment and nothing of the sandbox's,
nothing left behind by the task before it, and the launcher's deadline still kills it."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from chalicelib.dispatch.pods import PodConfig, PodRequest
from slipstream.sandbox.launcher import LocalProcessLauncher, sandbox_env
from slipstream.sandbox.runners import TASK_RUNNER_ENV, WarmProcess, WarmRunner, task_runner_setting, warm_module

GUARD_SECONDS = 120  # only so that a broken runner fails the test instead of hanging it

PROBE = '''
import json, os, sys, tempfile
import slipstream.entrypoint as shared  # imported by the zygote before it forked

seen = getattr(shared, "LEFT_BY_A_TASK", None)
shared.LEFT_BY_A_TASK = os.environ.get("NAME")
print(json.dumps({"env": dict(os.environ), "argv": sys.argv[1:], "cwd": os.getcwd(), "name": __name__,
                  "tmp": tempfile.gettempdir(), "seen": seen, "pid": os.getpid()}))
'''

STUCK = '''
import itertools
sum(itertools.repeat(1))  # stuck in native code, holding the GIL: the task's own timer never gets to run
'''


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the test's task modules, the tasks' working directory."""
    folder = tmp_path_factory.mktemp("warm-tasks")
    (folder / "probe.py").write_text(textwrap.dedent(PROBE))
    (folder / "stuck.py").write_text(textwrap.dedent(STUCK))
    return folder


@pytest.fixture(scope="module")
def runner(modules: Path):
    """One runner for the module's tests (one zygote start saved; the test that kills it checks the restart)."""
    started = WarmRunner({**sandbox_env("http://127.0.0.1:9", "us-east-1"), "SANDBOX_ONLY": "1"},
                         modules / "logs" / "task-runner.log")
    yield started
    started.close()


def _probe(runner: WarmRunner, modules: Path, name: str) -> tuple[int, dict]:
    log = modules / f"{name}.log"
    env = {"NAME": name, "TMPDIR": str(modules), "PYTHONUNBUFFERED": "1"}
    task = runner.spawn("probe", ["--flag", name], env, str(modules), log)
    return task.wait(GUARD_SECONDS), json.loads(log.read_text())


def test_a_warm_task_sees_its_pods_environment_and_shares_no_module_state_with_the_one_before(runner, modules):
    # WHEN two tasks run one after the other in the same warm runner
    first_code, first = _probe(runner, modules, "first")
    second_code, second = _probe(runner, modules, "second")
    # THEN each ran as `python -m probe --flag <name>` would, with exactly its pod's environment
    assert (first_code, second_code) == (0, 0)
    assert first["env"] == {"NAME": "first", "TMPDIR": str(modules), "PYTHONUNBUFFERED": "1"}
    assert "SANDBOX_ONLY" not in second["env"] and second["env"]["NAME"] == "second"
    assert first["argv"] == ["--flag", "first"] and first["name"] == "__main__"
    assert first["cwd"] == str(modules) and first["tmp"] == str(modules)
    # AND the second did not see what the first left in a module both imported, in processes of their own
    assert (first["seen"], second["seen"]) == (None, None)
    assert first["pid"] != second["pid"] and os.getpid() not in (first["pid"], second["pid"])
    # AND the zygote forked with no thread but its main one
    assert runner.threads_at_fork == 1


def test_a_task_whose_runner_dies_is_lost_and_the_next_gets_a_new_runner(runner, modules):
    # GIVEN a task stuck in its runner's child
    stuck = runner.spawn("stuck", [], {}, str(modules), modules / "stuck.log")
    assert stuck.forked.wait(GUARD_SECONDS)
    # WHEN the runner is killed
    assert runner._zygote is not None
    starts = runner.starts
    runner._zygote.kill()
    # THEN the task ends lost (its orphan killed), and the next task starts a new runner and runs
    assert stuck.wait(GUARD_SECONDS) < 0 and stuck.lost and "warm task runner" in stuck.lost
    code, probe = _probe(runner, modules, "after")
    assert code == 0 and probe["env"]["NAME"] == "after" and runner.starts == starts + 1


def test_the_launcher_kills_a_warm_task_at_its_pods_deadline(modules, monkeypatch):
    # GIVEN a warm launcher and a task with a 1 s timeout stuck in native code, so only the pod's deadline
    # (activeDeadlineSeconds: the timeout, no slack) can end it
    monkeypatch.chdir(modules)  # the launcher runs tasks in its own working directory
    failures: list[tuple[str, str, str]] = []
    failed = threading.Event()
    launcher = LocalProcessLauncher(
        PodConfig(default_image="local", region="us-east-1", data_bucket="data", deadline_slack_seconds=0),
        fail_token=lambda *failure: (failures.append(failure), failed.set()), logs_dir=modules / "pods",
        env=sandbox_env("http://127.0.0.1:9", "us-east-1"), task_runner="warm")
    request = PodRequest(project="p", domain="development", execution="p/development/x1", node_id="n0", attempt=0,
                         task=_task("stuck"), inputs_uri="s3://data/x1/n0/0/inputs.json",
                         outputs_prefix="s3://data/x1/n0/0/", task_token="token-1")
    try:
        # WHEN it is launched
        assert launcher.launch(request)
        assert failed.wait(GUARD_SECONDS)
        process, _ = launcher.processes[next(iter(launcher.processes))]
    finally:
        launcher.shutdown()
    # THEN it ran warm and was killed at the deadline, failing its token with the launcher's timeout
    assert isinstance(process, WarmProcess) and process.returncode == -9
    token, error, cause = failures[0]
    assert (token, error) == ("token-1", "slipstream.Timeout") and "deadline of 1s" in cause


def test_the_task_runner_setting_names_the_choices_and_pods_that_need_a_fresh_interpreter_get_one(monkeypatch):
    monkeypatch.setenv(TASK_RUNNER_ENV, "Fresh")
    assert task_runner_setting() == "fresh" and task_runner_setting("warm") == "warm"
    monkeypatch.setenv(TASK_RUNNER_ENV, "lukewarm")
    with pytest.raises(ValueError, match=r"task runner \[lukewarm\] is not one of warm, fresh: set "
                                         f"{TASK_RUNNER_ENV}"):
        task_runner_setting()
    base = {"PYTHONUNBUFFERED": "1"}
    assert warm_module([sys.executable, "-m", "slipstream.entrypoint", "--x"], {**base, "A": "1"}, base) == (
        "slipstream.entrypoint")
    assert warm_module([sys.executable, "script.py"], base, base) is None
    assert warm_module([sys.executable, "-m", "m"], {**base, "PYTHONPATH": "/x"}, base) is None


def _task(module: str) -> dict:
    return {"kind": "task", "schema_version": 1, "task_type": "python",
            "id": {"project": "p", "domain": "development", "name": f"{module}.run", "version": "v1"},
            "interface": {"inputs": [], "outputs": []}, "function": {"module": module, "name": "run"},
            "metadata": {"cache": False, "cache_version": "", "retries": 0, "timeout_seconds": 1},
            "container": {}}
