"""Where the CLI sends requests: flags, then environment variables, then `$SLIPSTREAM_HOME/config.json`,
then a running sandbox. With nothing configured and the sandbox running, the CLI talks to the sandbox."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chalicelib.errors import UserError
from slipstream.cache import slipstream_home

KEYS = ("api_url", "project", "domain", "auth", "region")


@dataclass(frozen=True)
class ClientConfig:
    api_url: str
    project: str
    domain: str
    auth: str  # "sigv4" (AWS: IAM-authorized API Gateway) or "none" (the sandbox on 127.0.0.1)
    region: str | None = None


def sandbox_dir() -> Path:
    return slipstream_home() / "sandbox"


def sandbox_state() -> dict[str, Any] | None:
    """The running sandbox's state file, if its process is alive."""
    path = sandbox_dir() / "state.json"
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (FileNotFoundError, ValueError, KeyError, ProcessLookupError, PermissionError):
        return None
    return state


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
