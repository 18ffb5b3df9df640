"""`slipstream sandbox start|stop|status`: the whole control plane on this machine, in the background."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import click

START_TIMEOUT = 60.0


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/api/v1/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@click.group("sandbox")
def sandbox() -> None:
    """Run the control plane locally: moto's AWS services, the API and the workers, on 127.0.0.1."""


@sandbox.command("start")
def start() -> None:
    """Start the sandbox in the background (does nothing if it is running) and wait until it answers."""
    from slipstream.config import sandbox_dir, sandbox_state

    state = sandbox_state()
    if state and _healthy(state["api_url"]):
        click.echo(f"sandbox is running: {state['api_url']}")
        return
    folder = sandbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").unlink(missing_ok=True)
    log = folder / "sandbox.log"
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "slipstream.sandbox", str(folder)], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=out, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        state = sandbox_state()
        if state and _healthy(state["api_url"]):
            click.echo(f"sandbox started: {state['api_url']} (project {state['project']}, "
                       f"domain {state['domain']}; log: {log})")
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace").splitlines()[-15:]
    raise click.ClickException("the sandbox did not start:\n" + "\n".join(tail))


@sandbox.command("stop")
def stop() -> None:
    """Stop the sandbox; everything registered and run in it is gone."""
    from slipstream.config import sandbox_dir, sandbox_state

    state = sandbox_state()
    if not state:
        click.echo("sandbox is not running")
        return
    pid = int(state["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and sandbox_state():
        time.sleep(0.1)
    if sandbox_state():
        os.kill(pid, signal.SIGKILL)
    (sandbox_dir() / "state.json").unlink(missing_ok=True)
    click.echo("sandbox stopped")


@sandbox.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """Show whether the sandbox runs and where; exits 1 when it does not."""
    from slipstream.config import sandbox_state

    state = sandbox_state()
    running = bool(state and _healthy(state["api_url"]))
    info = {"running": running, **(state or {})} if running else {"running": False, "api_url": None}
    if as_json:
        click.echo(json.dumps(info))
    elif running:
        click.echo(f"sandbox is running: {info['api_url']} "
                   f"(AWS endpoint {info['aws_endpoint_url']}, pid {info['pid']})")
    else:
        click.echo("sandbox is not running; start it with `slipstream sandbox start`")
    if not running:
        sys.exit(1)
