"""`slipstream get executions`, `get execution ID`, `execution terminate|relaunch ID`, `logs ID NODE`."""

from __future__ import annotations

import json
from typing import Any

import click

_project = click.option("-p", "--project", default=None)
_domain = click.option("-d", "--domain", default=None)


def _client(project: str | None, domain: str | None) -> tuple[Any, Any]:
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    return ApiClient(config), config


@click.command("executions")
@click.option("--phase", default=None, help="Only executions in this phase (e.g. RUNNING, FAILED).")
@click.option("--workflow", default=None, help="Only executions of this workflow name.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--token", default=None)
@_project
@_domain
@click.option("--json", "as_json", is_flag=True)
def get_executions(phase: str | None, workflow: str | None, limit: int, token: str | None, project: str | None,
                   domain: str | None, as_json: bool) -> None:
    """List executions, newest first."""
    client, config = _client(project, domain)
    page = client.list_executions(config.project, config.domain, phase=phase, workflow=workflow, limit=limit,
                                  token=token)
    if as_json:
        click.echo(json.dumps(page))
        return
    from slipstream.cli.get import _table

    _table(f"Executions in {config.project}/{config.domain}", ["name", "workflow", "phase", "created", "ended"],
           [[e["id"]["name"], e["workflow"]["name"], e["phase"], e["created_at"], e["ended_at"]]
            for e in page["executions"]])
    if page.get("token"):
        click.echo(f"more: --token {page['token']}")


@click.command("execution")
@click.argument("name")
@_project
@_domain
@click.option("--json", "as_json", is_flag=True)
@click.option("--wait", is_flag=True, help="Follow the execution to its end (the live table of `run --remote "
              "--wait`) and print its outputs; exit 1 if it did not succeed.")
def get_execution(name: str, project: str | None, domain: str | None, as_json: bool, wait: bool) -> None:
    """Show an execution: phase, inputs, outputs, error and its nodes."""
    client, config = _client(project, domain)
    if wait:
        from slipstream.cli.remote import finish

        finish(client, {"project": config.project, "domain": config.domain, "name": name}, as_json=as_json)
        return
    execution = client.get_execution(config.project, config.domain, name, nodes=True)
    nodes = execution.pop("nodes", None)
    if nodes is None:  # a control plane that answers no nodes with the execution
        nodes = client.node_executions(config.project, config.domain, name)
    view = {
        "id": execution["id"]["name"], "phase": execution["phase"], "inputs": execution["inputs"],
        "outputs": execution["outputs"], "error": execution["error"], "workflow": execution["workflow"],
        "started_at": execution["started_at"], "ended_at": execution["ended_at"],
        "nodes": [{"node_id": n["node_id"], "task": (n.get("task") or {}).get("name"), "phase": n["phase"],
                   "started_at": n["started_at"], "ended_at": n["ended_at"], "attempts": n["attempts"],
                   "cache_hit": n["cache_hit"], "error": n["error"]} for n in nodes],
    }
    if as_json:
        click.echo(json.dumps(view))
        return
    from rich.console import Console

    from slipstream.cli.remote import progress_table

    click.echo(f"{view['id']}: {view['phase']} (workflow {view['workflow']['name']}@{view['workflow']['version']})")
    click.echo(f"inputs:  {json.dumps(view['inputs'])}")
    click.echo(f"outputs: {json.dumps(view['outputs'])}")
    if view["error"]:
        click.echo(f"error:   {view['error']['message']}")
    Console().print(progress_table(execution, nodes))


@click.group("execution")
def execution() -> None:
    """Act on an execution."""


@execution.command("terminate")
@click.argument("name")
@_project
@_domain
def terminate(name: str, project: str | None, domain: str | None) -> None:
    """Stop an execution and delete its running pods."""
    client, config = _client(project, domain)
    result = client.terminate(config.project, config.domain, name)
    click.echo(f"Execution {name}: {result['phase']}")


@execution.command("relaunch")
@click.argument("name")
@click.option("--name", "new_name", default=None, help="Name of the new execution.")
@_project
@_domain
def relaunch(name: str, new_name: str | None, project: str | None, domain: str | None) -> None:
    """Start a new execution with the same workflow and inputs."""
    client, config = _client(project, domain)
    result = client.relaunch(config.project, config.domain, name, new_name)
    click.echo(f"Relaunched {name} as {result['id']['name']} ({result['phase']})")


@click.command("logs")
@click.argument("name")
@click.argument("node")
@_project
@_domain
def logs(name: str, node: str, project: str | None, domain: str | None) -> None:
    """Print the output of a node's latest attempt."""
    client, config = _client(project, domain)
    click.echo(client.logs(config.project, config.domain, name, node), nl=False)
