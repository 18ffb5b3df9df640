"""`slipstream get …` and `slipstream create project NAME`."""

from __future__ import annotations

import json
from typing import Any

import click

_KINDS = {"tasks": "task", "workflows": "workflow", "launchplans": "launch_plan", "launch_plans": "launch_plan"}


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(v) if v is not None else "" for v in row])
    Console().print(table)


@click.group("get")
def get() -> None:
    """List and show projects, tasks, workflows and launch plans."""


@get.command("projects")
@click.option("--json", "as_json", is_flag=True)
def get_projects(as_json: bool) -> None:
    """List projects."""
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    projects = ApiClient(load_config()).list_projects()
    if as_json:
        click.echo(json.dumps(projects))
    else:
        _table("Projects", ["name", "domains", "description"],
               [[p["name"], ", ".join(p["domains"]), p["description"]] for p in projects])


def _entity_command(plural: str) -> click.Command:
    kind = _KINDS[plural]

    @click.command(plural)
    @click.argument("name", required=False)
    @click.option("--version", default=None, help="Show this version's spec.")
    @click.option("-p", "--project", default=None)
    @click.option("-d", "--domain", default=None)
    @click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
    @click.option("--token", default=None, help="The token of the previous page.")
    @click.option("--json", "as_json", is_flag=True)
    def command(name: str | None, version: str | None, project: str | None, domain: str | None, limit: int,
                token: str | None, as_json: bool, active: bool = False) -> None:
        from slipstream.client import ApiClient
        from slipstream.config import load_config

        config = load_config(project=project, domain=domain)
        if active:
            from slipstream.cli.launchplan import show_active

            return show_active(config, as_json)
        client = ApiClient(config)
        if name and version:
            entity = client.get_entity(kind, config.project, config.domain, name, version)
            click.echo(json.dumps(entity if as_json else entity["spec"], indent=None if as_json else 2))
            return
        if name:
            page = client.list_versions(kind, config.project, config.domain, name, limit, token)
            rows = [[e["id"]["version"], e["registered_at"]] for e in page["entities"]]
            columns, title = ["version", "registered at"], f"Versions of {name}, newest first"
        else:
            page = client.list_names(kind, config.project, config.domain, limit, token)
            rows = [[e["name"], e["latest_version"], e["updated_at"]] for e in page["entities"]]
            columns, title = ["name", "latest version", "updated at"], f"{plural} in {config.project}/{config.domain}"
        if as_json:
            click.echo(json.dumps(page))
            return
        _table(title, columns, rows)
        if page.get("token"):
            click.echo(f"more: --token {page['token']}")

    command.help = f"List {plural} (or the versions of NAME, or one version's spec with --version)."
    if kind == "launch_plan":
        command = click.option("--active", is_flag=True, help="List the active version of each launch plan.")(command)
    return command


for _plural in ("tasks", "workflows", "launchplans"):
    get.add_command(_entity_command(_plural))


@click.group("create")
def create() -> None:
    """Create projects."""


@create.command("project")
@click.argument("name")
@click.option("--description", default="")
def create_project(name: str, description: str) -> None:
    """Create a project with the domains development, staging and production."""
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    project = ApiClient(load_config()).create_project(name, description)
    click.echo(f"Created project {project['name']} (domains: {', '.join(project['domains'])})")
