"""Where the CLI sends requests: flags, then environment variables, then `$SLIPSTREAM_HOME/config.json`,
then a running sandbox. With nothing configured and the sandbox running, the CLI talks to the sandbox."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from chalicelib.errors import UserError
from slipstream.cache import slipstream_home

KEYS = ("api_url", "project", "domain", "auth", "region")
STATE_FILE = "state.json"  # written by the sandbox process once its API answers
PID_FILE = "sandbox.pid"  # written as soon as the process runs
HEALTH_TIMEOUT = 10.0  # health answered in 0.5 s at most during twenty concurrent registrations (measured)


@dataclass(frozen=True)
class ClientConfig:
    api_url: str
    project: str
    domain: str
    auth: str  # "sigv4" (AWS: IAM-authorized API Gateway) or "none" (the sandbox on 127.0.0.1)
    region: str | None = None


def sandbox_dir() -> Path:
    return slipstream_home() / "sandbox"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("pid"), int) else None


def sandbox_state() -> dict[str, Any] | None:
    """The ready sandbox's state (api_url, pid, …), if its process is alive."""
    state = _read_json(sandbox_dir() / STATE_FILE)
    return state if state is not None and "api_url" in state and process_alive(state["pid"]) else None


def _file_config() -> dict[str, Any]:
    path = slipstream_home() / "config.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise UserError(f"config file [{path}] is not valid JSON ({exc}); fix or remove it") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise UserError(f"config file [{path}] has unknown keys {unknown}; known keys are {list(KEYS)}")
    return data


def load_config(**flags: str | None) -> ClientConfig:
    values: dict[str, Any] = {}
    sandbox = sandbox_state()
    if sandbox:
        values.update(api_url=sandbox["api_url"], project=sandbox["project"], domain=sandbox["domain"])
    values.update({k: v for k, v in _file_config().items() if v})
    values.update({k: os.environ[f"SLIPSTREAM_{k.upper()}"] for k in KEYS if os.environ.get(f"SLIPSTREAM_{k.upper()}")})
    values.update({k: v for k, v in flags.items() if v})
    if not values.get("api_url"):
        raise UserError("no control plane configured: start the sandbox with `slipstream sandbox start`, or set "
                        "SLIPSTREAM_API_URL (or api_url in $SLIPSTREAM_HOME/config.json)")
    host = urlparse(values["api_url"]).hostname or ""
    local = host in ("127.0.0.1", "localhost", "::1")
    return ClientConfig(
        api_url=values["api_url"].rstrip("/"),
        project=values.get("project") or "default",
        domain=values.get("domain") or "development",
        auth=values.get("auth") or ("none" if local else "sigv4"),
        region=values.get("region"),
    )


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live sandbox process. A zombie (exited, not yet reaped) is not alive, nor is a
    process that reused the pid (where /proc tells: Linux)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    proc = Path(f"/proc/{pid}")
    try:
        stat = (proc / "stat").read_text()
        command = (proc / "cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()  # no /proc (macOS): kill said it lives; else it ended meanwhile
    # an empty command line: the process is ending (its memory already released), not yet a zombie
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and (not command or b"slipstream.sandbox" in command)


@dataclass(frozen=True)
class SandboxStatus:
    """What `slipstream sandbox status` reports. `phase` is "stopped" (no live process), "starting" (the
    process runs, its API not yet), "running" (its API answers /api/v1/health) or "unhealthy" (the
    process runs, but its API did not answer within the timeout, or failed; `detail` says which)."""

    phase: Literal["stopped", "starting", "running", "unhealthy"]
    pid: int | None = None
    state: dict[str, Any] | None = None
    detail: str = ""


def sandbox_status(health_timeout: float = HEALTH_TIMEOUT) -> SandboxStatus:
    """The sandbox's phase: first from its process (the pid in its files, alive or not), then, for a live
    one that announced its API, from a health check — a second signal, so a busy sandbox is not reported
    stopped."""
    pid, announced = _sandbox_process()
    if pid is None:
        return SandboxStatus("stopped")
    if announced is None:
        return SandboxStatus("starting", pid)
    problem = _health_problem(announced["api_url"], health_timeout)
    return SandboxStatus("unhealthy" if problem else "running", pid, announced, problem or "")


def sandbox_pid() -> int | None:
    """The pid of the live sandbox process, ready or starting."""
    return _sandbox_process()[0]


def _sandbox_process() -> tuple[int | None, dict[str, Any] | None]:
    """(pid, state once announced) of the live sandbox process; (None, None) if there is none."""
    folder = sandbox_dir()
    state = _read_json(folder / STATE_FILE)
    announced = state if state is not None and "api_url" in state else None
    found = announced or _read_json(folder / PID_FILE)
    if found is None or not process_alive(found["pid"]):
        return None, None
    return int(found["pid"]), announced


def _health_problem(api_url: str, timeout: float) -> str | None:
    """None if the API answers its health check in time; else what went wrong, in words."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api_url}/api/v1/health", timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        return f"its API at [{api_url}] answered its health check with HTTP {exc.code}"
    except TimeoutError:
        return f"its API at [{api_url}] did not answer its health check within {timeout:g}s"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return f"its API at [{api_url}] did not accept a connection within {timeout:g}s"
        return f"its API at [{api_url}] cannot be reached ({reason})"
    return None
