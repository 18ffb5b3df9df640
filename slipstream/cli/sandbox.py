"""`slipstream sandbox start|stop|status`: the whole control plane on this machine, in the background.

The sandbox process is found by its pid (in `sandbox.pid` from the moment it runs, in `state.json` once its
API answers); its health check is a second signal. So a sandbox busy with work is "running", one still
starting is "starting", and one whose API does not answer is "unhealthy" — never "stopped" while its
process lives. `stop` returns only when the process is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from slipstream.config import HEALTH_TIMEOUT, PID_FILE, STATE_FILE

START_TIMEOUT = 60.0
STOP_GRACE = 30.0  # SIGTERM first; a sandbox still alive after this gets SIGKILL
KILL_WAIT = 10.0
EXIT_STOPPED = 1
EXIT_NOT_READY = 3  # starting or unhealthy


@click.group("sandbox")
def sandbox() -> None:
    """Run the control plane locally: moto's AWS services, the API and the workers, on 127.0.0.1."""


def _log() -> Path:
    from slipstream.config import sandbox_dir

    return sandbox_dir() / "sandbox.log"


def _describe_running(state: dict[str, Any]) -> str:
    return f"{state['api_url']} (project {state['project']}, domain {state['domain']}; log: {_log()})"


@sandbox.command("start")
def start() -> None:
    """Start the sandbox in the background (does nothing if it is running) and wait until it answers."""
    from slipstream.config import sandbox_dir, sandbox_status

    current = sandbox_status()
    if current.phase == "running" and current.state:
        click.echo(f"sandbox is running: {current.state['api_url']}")
        click.echo(f"console: {current.state['api_url']}/console/index.html")
        return
    process = None
    if current.phase == "stopped":
        folder = sandbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STATE_FILE).unlink(missing_ok=True)
        with open(_log(), "ab") as out:
            process = subprocess.Popen([sys.executable, "-m", "slipstream.sandbox", str(folder)],
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        (folder / PID_FILE).write_text(json.dumps({"pid": process.pid}))  # "starting" from this moment
    else:
        click.echo(f"sandbox is {current.phase} (pid {current.pid}); waiting for it")
    state = _wait_until_running(process)
    click.echo(f"sandbox started: {_describe_running(state)}")
    click.echo(f"console: {state['api_url']}/console/index.html (no login)")


def _wait_until_running(process: subprocess.Popen[bytes] | None) -> dict[str, Any]:
    from slipstream.config import sandbox_status

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        current = sandbox_status(health_timeout=2.0)
        if current.phase == "running" and current.state:
            return current.state
        ended = (process is not None and process.poll() is not None) or current.phase == "stopped"
        if ended or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    tail = _log().read_text(errors="replace").splitlines()[-15:] if _log().exists() else []
    why = f"it is {current.phase} after {START_TIMEOUT:g}s" + (f": {current.detail}" if current.detail else "")
    if current.phase == "stopped":
        why = "its process exited"
    raise click.ClickException(f"the sandbox did not start ({why}); its log, {_log()}, ends:\n" + "\n".join(tail))


@sandbox.command("stop")
@click.option("--grace", type=click.FloatRange(min=0), default=STOP_GRACE, show_default=True,
              help="Seconds to wait after SIGTERM before killing the sandbox with SIGKILL.")
def stop(grace: float) -> None:
    """Stop the sandbox and wait until its process is gone; everything registered and run in it is gone."""
    from slipstream.config import sandbox_dir, sandbox_pid

    pid = sandbox_pid()
    folder = sandbox_dir()
    if pid is None:
        for name in (STATE_FILE, PID_FILE):
            (folder / name).unlink(missing_ok=True)
        click.echo("sandbox is not running")
        return
    with contextlib.suppress(ProcessLookupError):  # it may end meanwhile
        os.kill(pid, signal.SIGTERM)
    killed = not _wait_for_exit(pid, grace)
    if killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_for_exit(pid, KILL_WAIT):
            raise click.ClickException(f"the sandbox process (pid {pid}) survived SIGKILL for {KILL_WAIT:g}s; "
                                       "it may be stuck in the kernel (uninterruptible I/O)")
    for name in (STATE_FILE, PID_FILE):
        (folder / name).unlink(missing_ok=True)
    if killed:
        click.echo(f"sandbox did not stop within {grace:g}s of SIGTERM; killed it (SIGKILL, pid {pid}). "
                   f"Task processes it had started may still run; its log: {_log()}")
    click.echo("sandbox stopped")


def _wait_for_exit(pid: int, seconds: float) -> bool:
    """True once `pid` is gone; False if it still lives after `seconds`."""
    from slipstream.config import process_alive

    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@sandbox.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=HEALTH_TIMEOUT, show_default=True,
              help="Seconds to wait for the API's health check.")
def status(as_json: bool, timeout: float) -> None:
    """Show whether the sandbox runs and where. Exits 0 when it runs, 1 when it does not, 3 when its
    process runs but its API is not ready (starting, or not answering)."""
    from slipstream.config import sandbox_status

    current = sandbox_status(health_timeout=timeout)
    if current.phase == "running" and current.state:
        info: dict[str, Any] = {"running": True, "phase": "running", **current.state}
        text = (f"sandbox is running: {info['api_url']} "
                f"(AWS endpoint {info['aws_endpoint_url']}, pid {info['pid']})")
    elif current.phase == "stopped":
        info = {"running": False, "api_url": None}
        text = "sandbox is not running; start it with `slipstream sandbox start`"
    elif current.phase == "starting":
        info = {"running": False, "phase": "starting", "pid": current.pid, "api_url": None}
        text = f"sandbox is starting (pid {current.pid}); `slipstream sandbox start` waits until it answers"
    else:
        info = {"running": False, "phase": "unhealthy", "pid": current.pid,
                "api_url": (current.state or {}).get("api_url"), "detail": current.detail}
        text = (f"sandbox is unhealthy: its process runs (pid {current.pid}) but {current.detail}; "
                f"see {_log()}, or restart it: `slipstream sandbox stop && slipstream sandbox start`")
    click.echo(json.dumps(info) if as_json else text)
    if current.phase != "running":
        sys.exit(EXIT_STOPPED if current.phase == "stopped" else EXIT_NOT_READY)


def _shown_raw(records: list[dict[str, Any]], as_json: bool, none_yet: str) -> bool:
    """Print the records as JSON lines (--json), or say there are none yet; False if they are still to show."""
    if as_json:
        for record in records:
            click.echo(json.dumps(record))
    elif not records:
        click.echo(none_yet)
    return as_json or not records


@sandbox.command("events")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, as recorded.")
def events(as_json: bool) -> None:
    """Show every phase change event the sandbox's control plane put on its EventBridge bus, in the order of the
    changes (by sequence, then rank; chalicelib.events describes them)."""
    from slipstream.config import sandbox_dir
    from slipstream.sandbox.phase_events import FILE_NAME, read_records

    records = read_records(sandbox_dir() / FILE_NAME)
    if _shown_raw(records, as_json, "no events yet: every execution's and node's phase change is recorded as it "
                  "happens"):
        return
    for record in records:
        node = f" node {record['node']}" if record.get("node") else ""
        moved = f"{record['previous_phase']} → " if record.get("previous_phase") else ""
        click.echo(f"{record.get('time') or ''}  {record['project']}/{record['domain']}/{record['execution']}"
                   f"{node}: {moved}{record['phase']}")


@sandbox.command("notifications")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, as recorded.")
def notifications(as_json: bool) -> None:
    """Show every notification the sandbox would have sent (e-mail, Slack, PagerDuty, SNS), oldest first."""
    from slipstream.config import sandbox_dir
    from slipstream.sandbox.notifications import FILE_NAME, read_records

    records = read_records(sandbox_dir() / FILE_NAME)
    if _shown_raw(records, as_json, "no notifications yet: a launch plan's notifications are recorded when its "
                  "executions end"):
        return
    for record in records:
        target = ", ".join(record["to"]) if record.get("to") else record.get("topic")
        message = record["message"]
        error = (message.get("error") or {}).get("message")
        click.echo(f"{record.get('sent_at') or ''}  {record['phase']:<9} {record['project']}/{record['domain']}/"
                   f"{record['execution']} → {target}" + (f"\n    error: {error}" if error else "")
                   + f"\n    {message.get('inspect', '')}")
