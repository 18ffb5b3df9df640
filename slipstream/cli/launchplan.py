"""`slipstream launchplan activate|deactivate NAME`, and the active listing of `slipstream get launchplans --active`.

An active launch plan version runs on its schedule (EventBridge Scheduler on AWS, a worker thread in the
sandbox); one version per name is active. Deactivated plans still launch by hand."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click


def _path(project: str, domain: str, *rest: str) -> str:
    return "/".join(quote(part, safe="") for part in (project, domain, *rest))


@click.group("launchplan")
def launchplan() -> None:
    """Activate and deactivate launch plans (their schedules run while active)."""


@launchplan.command("activate")
@click.argument("name")
@click.option("--version", required=True, help="The registered version to activate.")
@click.option("-p", "--project", default=None)
@click.option("-d", "--domain", default=None)
def activate(name: str, version: str, project: str | None, domain: str | None) -> None:
    """Make VERSION of launch plan NAME the active one (replacing any other active version)."""
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    result = ApiClient(config).request("POST", f"/api/v1/launch_plans/{_path(config.project, config.domain, name)}"
                                       "/activate", {"version": version}, idempotent=True)
    moved = f" (was {result['previous_version']})" if result.get("previous_version") not in (None, version) else ""
    schedule = f"; schedule {result['schedule_name']}" if result.get("schedule_name") else "; no schedule"
    click.echo(f"Activated {name} version {version}{moved}{schedule}")


@launchplan.command("deactivate")
@click.argument("name")
@click.option("-p", "--project", default=None)
@click.option("-d", "--domain", default=None)
def deactivate(name: str, project: str | None, domain: str | None) -> None:
    """Deactivate launch plan NAME: its schedule stops; it still launches by hand."""
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    result = ApiClient(config).request(
        "POST", f"/api/v1/launch_plans/{_path(config.project, config.domain, name)}/deactivate", {})
    click.echo(f"Deactivated {name} (version {result['version']})")


def active_launch_plans(config: Any) -> list[dict[str, Any]]:
    from slipstream.client import ApiClient

    return ApiClient(config).request("GET", f"/api/v1/active_launch_plans/{_path(config.project, config.domain)}")[
        "launch_plans"]


def show_active(config: Any, as_json: bool) -> None:
    """`slipstream get launchplans --active`."""
    plans = active_launch_plans(config)
    if as_json:
        click.echo(json.dumps({"launch_plans": plans}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Active launch plans in {config.project}/{config.domain}", title_justify="left")
    for column in ("name", "version", "schedule", "activated at"):
        table.add_column(column)
    for plan in plans:
        schedule = plan.get("schedule") or {}
        when = schedule.get("cron") or (f"every {schedule['rate_seconds'] // 60} min" if schedule else "")
        table.add_row(plan["name"], plan["version"], when, plan["activated_at"])
    Console().print(table)
