"""`slipstream run --remote`: fast-register the file, start an execution, and with --wait follow it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from chalicelib.errors import ExecutionError
from slipstream.cli.output import print_outputs

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def run_remote(file: str, entity: Any, kwargs: dict[str, Any], *, as_json: bool, wait: bool,
               project: str | None, domain: str | None, version: str | None, name: str | None,
               image: str | None = None) -> None:
    """Register `file` fast (the version is the digest of its code and `image`), start `entity` there, and with
    `wait` follow it to its end."""
    from slipstream.cli.register import build_registration
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    client = ApiClient(config)
    specs, version = build_registration(client, [file], config.project, config.domain, version, fast=True,
                                        image=image)
    client.register(specs)
    workflow = entity.workflow if entity.kind == "launch_plan" else entity
    if entity.kind == "task":
        raise click.UsageError("run --remote runs workflows and launch plans; wrap the task in a @workflow")
    inputs = _remote_inputs(client, config, workflow, kwargs)
    body: dict[str, Any] = {"project": config.project, "domain": config.domain, "inputs": inputs,
                            entity.kind: {"name": entity.name, "version": version}}
    if name:
        body["name"] = name
    execution = client.create_execution(body)
    ident = execution["id"]
    click.echo(f"Execution {ident['name']} of {entity.name} ({version}) in {ident['project']}/{ident['domain']}",
               err=as_json or wait)
    if not wait:
        if as_json:
            click.echo(json.dumps({"execution": ident}))
        return
    finish(client, ident, as_json=as_json)


def finish(client: Any, ident: dict[str, str], *, as_json: bool) -> None:
    """Follow an execution to its end with the live table, then print its outputs; a failure raises
    ExecutionError (exit 1) with the execution's own message."""
    final = follow(client, ident, quiet=as_json)
    if final["phase"] != "SUCCEEDED":
        message = (final.get("error") or {}).get("message") or final["phase"]
        raise ExecutionError(f"execution {ident['name']} {final['phase']}: {message}")
    print_outputs(final.get("outputs") or {}, as_json=as_json)
    sys.stdout.flush()


def _remote_inputs(client: Any, config: Any, workflow: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """JSON literals of the inputs given; local files are uploaded once (content-addressed)."""
    from chalicelib.spec.types import transform_blobs
    from slipstream import type_engine

    def upload(kind: str, blob: dict[str, Any]) -> dict[str, Any]:
        uri = blob["uri"]
        if "://" in uri:
            return blob
        path = Path(uri)
        if kind != "file":
            raise click.UsageError(f"directory [{path}]: upload it to S3 and pass its s3:// URI to --remote runs")
        return {"uri": client.upload_file(config.project, config.domain, path)}

    out = {}
    for name, value in kwargs.items():
        py_type = workflow.interface.inputs[name]
        literal = type_engine.to_json(value, py_type, f"input [{name}]")
        out[name] = transform_blobs(type_engine.literal_type_of(py_type), literal, upload)
    return out


def follow(client: Any, ident: dict[str, str], *, quiet: bool, interval: float = 0.5) -> dict[str, Any]:
    """Poll until the execution ends, showing per-node progress on stderr."""
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    with Live(console=console, refresh_per_second=4, transient=False, auto_refresh=False) as live:
        while True:
            execution = client.get_execution(ident["project"], ident["domain"], ident["name"])
            nodes = client.node_executions(ident["project"], ident["domain"], ident["name"])
            if not quiet:
                live.update(progress_table(execution, nodes), refresh=True)
            if execution["phase"] in TERMINAL:
                return execution
            time.sleep(interval)


def progress_table(execution: dict[str, Any], nodes: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    colors = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "yellow", "ABORTED": "magenta",
              "TIMED_OUT": "red"}
    table = Table(title=f"{execution['id']['name']}: {execution['phase']}", title_justify="left")
    for column in ("node", "task", "phase", "attempts", "cache"):
        table.add_column(column)
    for node in nodes:
        phase = node["phase"] or ""
        table.add_row(node["node_id"], (node.get("task") or {}).get("name", ""),
                      f"[{colors.get(phase, 'white')}]{phase}[/]", str(node["attempts"]),
                      "hit" if node.get("cache_hit") else "")
    return table
