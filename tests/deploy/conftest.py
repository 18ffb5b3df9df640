"""Fixtures of the deploy tests: one dry run and one packaging per session, and moto's server."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
STAGE = "ci"
PACKAGE_LOCK = ROOT / ".chalice" / "deployments" / ".tests.lock"


@contextlib.contextmanager
def packaging_lock() -> Iterator[None]:
    """One packaging at a time on this machine: test workers share Chalice's zip cache, and a cold one
    builds the layer with pip."""
    PACKAGE_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with PACKAGE_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m slipstream ARGS` from the repository root with nothing of the caller's AWS setup: no
    credentials, no profile, so a command that reached AWS unasked would fail."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLIPSTREAM_", "AWS_"))}
    clean.update(SLIPSTREAM_HOME=str(home), AWS_CONFIG_FILE=str(home / "no-aws-config"),
                 AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"), COLUMNS="160", **(env or {}))
    return subprocess.run([sys.executable, "-m", "slipstream", *args], capture_output=True, text=True, cwd=ROOT,
                          env=clean, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`slipstream deploy --dry-run` once per session: its output directory, template and run time."""
    out = tmp_path_factory.mktemp("dry-run")
    with packaging_lock():
        started = time.perf_counter()
        done = run_cli(out, "deploy", "--stage", STAGE, "--region", REGION, "--dry-run", "--output", str(out / "out"),
                       env={"AWS_ENDPOINT_URL": "https://127.0.0.1:9"})  # nothing listens there
        seconds = time.perf_counter() - started
    assert done.returncode == 0, f"dry run exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    directory = out / "out"
    return {"dir": directory, "template": json.loads((directory / "template.json").read_text()),
            "seconds": seconds, "stdout": done.stdout}


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app packaged in-process, with its zips kept (the moto tests upload them)."""
    from slipstream.deploy.package import package

    with packaging_lock():
        return package(ROOT, STAGE, REGION, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1, a free port."""
    import logging

    from moto.server import ThreadedMotoServer

    from slipstream.sandbox.server import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
