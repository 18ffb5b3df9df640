"""`slipstream sandbox status` and `stop` as a user types them, with the sandbox busy, starting, hung or
stopping: status follows the process (and its health check second), stop returns only once the process
is gone. Processes are held with SIGSTOP to make "starting" and "not answering" happen for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.conftest import EXAMPLES
from tests.e2e.conftest import Runner
from tests.support.cli import ROOT, slipstream, succeeded

pytestmark = pytest.mark.e2e

# Concurrent registrations of every example, each its own version: ~4 s of the sandbox's work, so a server that
# answered one request at a time would keep a health check waiting past the 2 s that once made status say the
# sandbox had stopped. Few large batches: many small concurrent ones cost the sandbox 2-4x their work in contention.
# (Concurrent registrations of the same batch are tests/integration/test_registration_atomic.py's.)
REGISTRATIONS = 3
STATUS_GAP = 0.25  # seconds between status commands: each is a Python process that competes with the load


def _status(home: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = slipstream(home, "sandbox", "status", "--json", *args)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def _exists(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


@pytest.fixture()
def home(tmp_path: Path):
    """A home for one test's sandbox; whatever the test leaves running is stopped at the end."""
    yield tmp_path
    slipstream(tmp_path, "sandbox", "stop", "--grace", "5")


def _start_held(home: Path) -> tuple[subprocess.Popen[str], int]:
    """`slipstream sandbox start` in the background, its sandbox process stopped (SIGSTOP) as soon as its
    pid is announced, long before it can announce its API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPSTREAM_")}
    env.update(SLIPSTREAM_HOME=str(home))
    starting = subprocess.Popen([sys.executable, "-m", "slipstream", "sandbox", "start"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = home / "sandbox" / "sandbox.pid"
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert starting.poll() is None, starting.communicate()
        time.sleep(0.01)
    pid = int(json.loads(pid_file.read_text())["pid"])
    os.kill(pid, signal.SIGSTOP)
    return starting, pid


def test_status_says_starting_then_running_then_unhealthy_while_it_does_not_answer(home):
    starting, pid = _start_held(home)
    try:
        code, info = _status(home)
        assert (code, info) == (3, {"running": False, "phase": "starting", "pid": pid, "api_url": None})
        assert "sandbox is starting (pid" in slipstream(home, "sandbox", "status").stdout
    finally:
        os.kill(pid, signal.SIGCONT)
    out, err = starting.communicate(timeout=120)
    assert starting.returncode == 0, err
    assert "sandbox started: http://127.0.0.1:" in out
    code, info = _status(home)
    assert code == 0 and info["running"] is True and info["phase"] == "running" and info["pid"] == pid

    os.kill(pid, signal.SIGSTOP)  # alive, but its API cannot answer
    try:
        code, info = _status(home, "--timeout", "0.2")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert code == 3 and info["phase"] == "unhealthy" and info["pid"] == pid and info["running"] is False
    assert "did not answer its health check within 0.2s" in info["detail"]
    assert _status(home)[0] == 0


def test_status_under_load_says_running_and_stop_returns_once_the_process_is_gone(home):
    succeeded(slipstream(home, "sandbox", "start"))
    code, info = _status(home)
    assert code == 0
    pid, client = info["pid"], ApiClient(ClientConfig(info["api_url"], "default", "development", "none"))
    batches = [build_registration(client, [str(EXAMPLES)], "default", "development", f"load{i}")[0]
               for i in range(REGISTRATIONS)]
    errors: list[BaseException] = []

    def register(i: int) -> None:
        try:
            ApiClient(client.config).register(batches[i])
        except BaseException as exc:
            errors.append(exc)

    load = [threading.Thread(target=register, args=(i,)) for i in range(REGISTRATIONS)]
    for thread in load:
        thread.start()
    statuses = []
    while any(thread.is_alive() for thread in load):
        statuses.append(_status(home))
        _join_within(load, STATUS_GAP)
    for thread in load:
        thread.join()
    assert errors == []
    assert statuses, "no status was asked while the sandbox was under load"
    assert {(code, info["phase"], info["pid"]) for code, info in statuses} == {(0, "running", pid)}
    name = Runner(client, "load0").run("hello.my_wf", {"a": 50, "b": "hello"})["id"]["name"]

    stopped = succeeded(slipstream(home, "sandbox", "stop"))
    assert not _exists(pid), "`sandbox stop` returned while the sandbox process lived"
    assert stopped.stdout.strip().splitlines() == ["sandbox stopped"]
    _assert_logged_a_run(home / "sandbox" / "sandbox.log", name, pid)
    assert _status(home) == (1, {"running": False, "api_url": None})
    assert not (home / "sandbox" / "state.json").exists() and not (home / "sandbox" / "sandbox.pid").exists()


def _join_within(threads: list[threading.Thread], seconds: float) -> None:
    """Wait up to `seconds` for all `threads` to end."""
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _assert_logged_a_run(log: Path, name: str, pid: int) -> None:
    """sandbox.log holds powertools JSON lines: the start, every phase change of the run, the stop."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines and all(line["service"] == "slipstream-sandbox" for line in lines)
    started = [line for line in lines if line["message"].startswith("sandbox started")]
    assert len(started) == 1 and started[0]["pid"] == pid and started[0]["level"] == "INFO"
    changes = {(line.get("node"), line.get("previous_phase"), line["phase"])
               for line in lines if line.get("execution") == name}
    assert {(None, "QUEUED", "RUNNING"), (None, "RUNNING", "SUCCEEDED"), ("n0", "RUNNING", "SUCCEEDED"),
            ("n1", "RUNNING", "SUCCEEDED")} <= changes, changes
    assert f"node n1 of default/development/{name}: RUNNING -> SUCCEEDED" in [line["message"] for line in lines]
    assert lines[-1]["message"] == "sandbox stopped"


def test_stop_kills_a_sandbox_that_does_not_stop_and_says_so(home):
    succeeded(slipstream(home, "sandbox", "start"))
    pid = _status(home)[1]["pid"]
    os.kill(pid, signal.SIGSTOP)  # hung: it cannot act on SIGTERM
    stopped = succeeded(slipstream(home, "sandbox", "stop", "--grace", "0.2"))
    assert not _exists(pid)
    assert f"did not stop within 0.2s of SIGTERM; killed it (SIGKILL, pid {pid})" in stopped.stdout
    assert stopped.stdout.strip().endswith("sandbox stopped")
    assert _status(home)[0] == 1
    again = succeeded(slipstream(home, "sandbox", "stop"))
    assert again.stdout.strip() == "sandbox is not running"
