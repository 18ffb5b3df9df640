"""`slipstream run --remote`: fast-register the file, start an execution, and with --wait follow it."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from chalicelib.errors import ExecutionError, NotFoundError
from slipstream.cli.output import print_outputs

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
WAIT_SECONDS = 20  # per long poll: the most the API waits (chalicelib.executions.MAX_WAIT_SECONDS)


def run_remote(file: str, entity: Any, kwargs: dict[str, Any], *, as_json: bool, wait: bool,
               project: str | None, domain: str | None, version: str | None, name: str | None,
               image: str | None = None) -> None:
    """Register `file` fast (the version is the digest of its code and `image`), start `entity` there, and with
    `wait` follow it to its end. An unchanged file is not sent again: with the fast version (the digest of the
    code) the execution is asked for first, and registration follows only when the control plane lacks that
    version (404), so a repeated run costs one request before it starts."""
    from slipstream.cli.register import Registration
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    client = ApiClient(config)
    planned = Registration.plan([file], config.project, config.domain, version, fast=True, image=image)
    extra: list[dict[str, Any]] = []
    if entity.kind == "task":  # as flytekit does: a one-node workflow around the task, registered with the file
        entity, extra = _task_wrapper(entity, planned)
    workflow = entity.workflow if entity.kind == "launch_plan" else entity
    inputs = _remote_inputs(client, config, workflow, kwargs)
    body: dict[str, Any] = {"project": config.project, "domain": config.domain, "inputs": inputs,
                            entity.kind: {"name": entity.name, "version": planned.version}}
    if name:
        body["name"] = name
    execution = None
    if version is None:  # a fast version names its code: registered once, registered as this file is now
        with contextlib.suppress(NotFoundError):
            execution = client.create_execution(body)
    if execution is None:
        client.register(planned.specs(client) + extra)
        execution = client.create_execution(body)
    ident = execution["id"]
    click.echo(f"Execution {ident['name']} of {entity.name} ({planned.version}) in "
               f"{ident['project']}/{ident['domain']}", err=as_json or wait)
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


def _task_wrapper(task: Any, planned: Any) -> tuple[Any, list[dict[str, Any]]]:
    """The workflow `flytegen.<task>` that runs `task` alone, and its specs beyond the file's own (the task's
    spec, with its code bundle, comes with the file)."""
    from slipstream.local import single_task_workflow
    from slipstream.serialization import SerializationSettings, serialize

    wrapper = single_task_workflow(task)
    settings = SerializationSettings(planned.project, planned.domain, planned.version)
    return wrapper, [spec for spec in serialize([wrapper], settings) if spec["kind"] != "task"]


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


def follow(client: Any, ident: dict[str, str], *, quiet: bool, interval: float = 0.5,
           wait_seconds: int = WAIT_SECONDS) -> dict[str, Any]:
    """Follow the execution to its end, showing per-node progress on stderr: each request waits on the control
    plane for the next change (a long poll), so a change shows as soon as it is stored, with one request per
    change. A control plane without long polls (no change_token in its answer) is polled every `interval`."""
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    project, domain, name = ident["project"], ident["domain"], ident["name"]
    token: str | None = None
    with Live(console=console, refresh_per_second=4, transient=False, auto_refresh=False) as live:
        while True:
            execution = client.get_execution(project, domain, name, nodes=True, since=token,
                                             wait_seconds=wait_seconds if token else None)
            nodes = execution.pop("nodes", None)
            if nodes is None:
                nodes = client.node_executions(project, domain, name)
            if not quiet:
                live.update(progress_table(execution, nodes), refresh=True)
            if execution["phase"] in TERMINAL:
                return execution
            token = execution.pop("change_token", None)
            if token is None:
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
