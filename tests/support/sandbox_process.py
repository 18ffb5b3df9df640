"""A sandbox in a process of its own, with Settings changed for one test module (low limits, short
heartbeats): moto's Step Functions interpreter finds its server through the process-wide MOTO_PORT, so
a sandbox with other settings cannot share the test process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from tests.support.asl import assert_deployed_valid

STOP_SECONDS = 60  # stops a hung teardown only: a sandbox ends within a second or two of SIGTERM


@contextmanager
def sandbox_process(folder: Path, **settings: Any) -> Iterator[dict[str, Any]]:
    """Start `python -m slipstream.sandbox` with these Settings; yields its state (api_url, …)."""
    env = {**os.environ, "SLIPSTREAM_SANDBOX_SETTINGS": json.dumps(settings)}
    process = subprocess.Popen([sys.executable, "-m", "slipstream.sandbox", str(folder)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        state = _wait_for_state(folder / "state.json", process)
        yield state
        sfn = boto3.session.Session("sandbox", "sandbox", region_name=state["region"]).client(
            "stepfunctions", endpoint_url=state["aws_endpoint_url"])
        assert_deployed_valid(sfn, f"the sandbox process of {folder.name}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            log = folder / "sandbox.log"
            tail = log.read_text().splitlines()[-20:] if log.exists() else []
            raise AssertionError(f"the sandbox process did not end within {STOP_SECONDS}s of SIGTERM; its log "
                                 "ends:\n" + "\n".join(tail)) from None


def _wait_for_state(path: Path, process: subprocess.Popen[bytes], deadline: float = 60.0) -> dict[str, Any]:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if path.exists():
            state = json.loads(path.read_text())
            try:
                urllib.request.urlopen(state["api_url"] + "/api/v1/health", timeout=2).close()
                return state
            except OSError:
                pass
        if process.poll() is not None:
            raise AssertionError(f"the sandbox process exited with {process.returncode}")
        time.sleep(0.1)
    raise AssertionError("the sandbox process did not start")
