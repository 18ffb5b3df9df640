"""`slipstream execution signal ID NAME VALUE` and `slipstream execution approve ID NAME [--reject]`: answer the
gates of a running execution (slipstream.gates; the API's POST .../signals/{name})."""

from __future__ import annotations

import json
from typing import Any

import click

_project = click.option("-p", "--project", default=None)
_domain = click.option("-d", "--domain", default=None)


def _send(name: str, signal: str, value: Any, project: str | None, domain: str | None) -> dict[str, Any]:
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    return ApiClient(config).signal(config.project, config.domain, name, signal, value)


def parse_value(text: str) -> Any:
    """VALUE as JSON (3, 2.5, true, [1, 2], "3"); text that is not JSON is a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@click.command("signal")
@click.argument("name")
@click.argument("signal")
@click.argument("value")
@_project
@_domain
def signal(name: str, signal: str, value: str, project: str | None, domain: str | None) -> None:
    """Give gate SIGNAL (a wait_for_input) of execution NAME its VALUE, as JSON; text that is not JSON is sent as
    a string (quote a string that looks like a number: '"42"')."""
    result = _send(name, signal, parse_value(value), project, domain)
    click.echo(f"Execution {name}: signal {signal} = {json.dumps(result['value'])}")


@click.command("approve")
@click.argument("name")
@click.argument("signal")
@click.option("--reject", is_flag=True, help="Reject instead: the execution fails at the gate.")
@_project
@_domain
def approve(name: str, signal: str, reject: bool, project: str | None, domain: str | None) -> None:
    """Approve gate SIGNAL (an approve(...)) of execution NAME, passing its value on; --reject fails it."""
    _send(name, signal, not reject, project, domain)
    click.echo(f"Execution {name}: {signal} {'rejected' if reject else 'approved'}")
