"""`slipstream launch NAME [--version V] [-p -d] [--input value …] [--wait] [--json]`: start a registered launch
plan (a workflow's default launch plan has the workflow's name) without its source, as `flytectl create
execution` does.

The input options come from the REGISTERED interface: the command fetches the launch plan and its workflow
over the API before it parses the rest of the line, so `slipstream launch NAME --help` lists them. Options
are typed by the IR's literal types (values are parsed into JSON literals and checked here, and again by the
API). Fixed inputs get a hidden option only so that giving one reaches the API, whose 400 names them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from chalicelib.errors import NotFoundError, TypeMismatchError, UserError, ValidationError
from chalicelib.spec import types as lt


class LiteralValue(click.ParamType):
    """A command-line value → the JSON literal of a literal type (simple kinds as click parses them, the rest
    as JSON), checked against the type."""

    def __init__(self, literal_type: lt.LiteralType) -> None:
        self.literal_type = literal_type
        self.name = lt.describe(literal_type)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        t = self.literal_type.get("optional", self.literal_type)
        kind, body = lt.kind_of(t), next(iter(t.values()))
        try:
            literal = self._parse(kind, body, value, param, ctx)
            lt.validate_value(self.literal_type, literal, f"--{param.name if param else 'value'}")
        except json.JSONDecodeError as exc:
            self.fail(f"{value!r} is not valid JSON ({exc.msg}); e.g. '[1, 2]' or '{{\"k\": 1}}'", param, ctx)
        except (TypeMismatchError, ValidationError) as exc:
            self.fail(str(exc), param, ctx)
        return literal

    def _parse(self, kind: str, body: Any, value: str, param: Any, ctx: Any) -> Any:
        simple = {"integer": click.INT, "float": click.FLOAT, "string": click.STRING, "boolean": click.BOOL}
        if kind == "simple" and body in simple:
            return simple[body].convert(value, param, ctx)
        if kind == "simple" and body == "duration":
            return click.FLOAT.convert(value, param, ctx)
        if kind == "simple" and body in ("datetime", "date"):
            parser = dt.datetime if body == "datetime" else dt.date
            try:
                return parser.fromisoformat(value).isoformat()
            except ValueError:
                self.fail(f"{value!r} is not a {body}; use ISO 8601, e.g. 2024-01-31T12:00:00", param, ctx)
        if kind == "enum":
            return click.Choice(body["values"]).convert(value, param, ctx)
        if kind == "blob":
            return {"uri": value}
        return json.loads(value)


INPUT_PREFIX = "input__"  # the inputs' own parameter names, apart from NAME and launch's options


def _flag(name: str) -> str:
    """`--<input>`, or `--input-<input>` for an input named like one of launch's own options (`--version`)."""
    taken = {opt for param in _TARGET for opt in getattr(param, "opts", [])}
    return f"--{name}" if f"--{name}" not in taken else f"--input-{name}"


def input_options(interface_inputs: list[dict[str, Any]], plan: dict[str, Any]) -> list[click.Option]:
    """One option per input: launch plan defaults over the interface's; fixed inputs hidden."""
    options = []
    for var in interface_inputs:
        name, t = var["name"], var["type"]
        decls = [_flag(name), INPUT_PREFIX + name]
        if name in plan["fixed_inputs"]:
            options.append(click.Option(decls, type=LiteralValue(t), hidden=True))
            continue
        default = plan["default_inputs"].get(name, var.get("default"))
        has_default = name in plan["default_inputs"] or "default" in var
        extra: dict[str, Any] = {"default": default, "show_default": json.dumps(default)} if has_default else {}
        required = not (has_default or "optional" in t)
        options.append(click.Option(decls, type=LiteralValue(t), required=required, help=lt.describe(t), **extra))
    return options


_TARGET = [
    click.Argument(["name"], required=False),
    click.Option(["--version"], default=None, help="The launch plan's version (default: its newest)."),
    click.Option(["-p", "--project"], default=None, help="The project (default: configured, or default)."),
    click.Option(["-d", "--domain"], default=None, help="The domain (default: development)."),
    click.Option(["--exec-name", "exec_name"], default=None, help="The execution's name (idempotent)."),
    click.Option(["--wait"], is_flag=True, help="Follow the execution and print its outputs; exit 1 on failure."),
    click.Option(["--json", "as_json"], is_flag=True, help="One JSON line: the execution id (outputs with --wait)."),
]


def _peek(args: list[str]) -> dict[str, Any]:
    """NAME, --version, -p and -d from the command line, before the input options exist."""
    peek = click.Command("launch", params=list(_TARGET), context_settings={
        "ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []})
    ctx = peek.make_context("launch", list(args), resilient_parsing=True)
    return ctx.params


def _fetch(name: str, version: str | None, project: str | None, domain: str | None) -> tuple[Any, Any, dict, dict]:
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    client = ApiClient(config)
    where = f"{config.project}/{config.domain}"
    if version is None:
        versions = client.list_versions("launch_plan", config.project, config.domain, name, limit=1)["entities"]
        if not versions:
            raise UserError(f"no launch plan or workflow [{name}] is registered in {where}; "
                            "list them with `slipstream get launchplans`")
        version = versions[0]["id"]["version"]
    try:
        plan = client.get_entity("launch_plan", config.project, config.domain, name, version)["spec"]
    except NotFoundError:
        raise UserError(f"launch plan [{name}] has no version [{version}] in {where}; "
                        f"list its versions with `slipstream get launchplans {name}`") from None
    ref = plan["workflow"]
    workflow = client.get_entity("workflow", ref["project"], ref["domain"], ref["name"], ref["version"])["spec"]
    return client, config, plan, workflow


class LaunchCommand(click.Command):
    """Builds its input options from the registered interface of NAME when it parses the command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        self.params = list(_TARGET)
        target = _peek(args)
        if target.get("name"):
            client, config, plan, workflow = _fetch(target["name"], target.get("version"), target.get("project"),
                                                    target.get("domain"))
            ctx.meta["launch"] = (client, config, plan, workflow)
            self.params += input_options(workflow["interface"]["inputs"], plan)
        return super().parse_args(ctx, args)


def _launch(name: str | None, version: str | None, project: str | None, domain: str | None, exec_name: str | None,
            wait: bool, as_json: bool, **inputs: Any) -> None:
    if not name:
        raise click.UsageError("name the launch plan (or workflow) to launch: slipstream launch NAME")
    from chalicelib.spec.types import transform_blobs

    client, config, plan, workflow = click.get_current_context().meta["launch"]
    types = {v["name"]: v["type"] for v in workflow["interface"]["inputs"]}
    given: dict[str, Any] = {}
    for param, value in inputs.items():
        key = param.removeprefix(INPUT_PREFIX)
        if value is None or key not in types:
            continue
        given[key] = transform_blobs(types[key], value, lambda kind, blob: _upload(client, config, kind, blob))
    body: dict[str, Any] = {"project": config.project, "domain": config.domain, "inputs": given,
                            "launch_plan": {"name": plan["id"]["name"], "version": plan["id"]["version"]}}
    if exec_name:
        body["name"] = exec_name
    ident = client.create_execution(body)["id"]
    click.echo(f"Execution {ident['name']} of {plan['id']['name']} ({plan['id']['version']}) in "
               f"{ident['project']}/{ident['domain']}", err=as_json or wait)
    if wait:
        from slipstream.cli.remote import finish

        finish(client, ident, as_json=as_json)
    elif as_json:
        click.echo(json.dumps({"execution": ident}))


def _upload(client: Any, config: Any, kind: str, blob: dict[str, Any]) -> dict[str, Any]:
    from pathlib import Path

    uri = blob["uri"]
    if "://" in uri:
        return blob
    path = Path(uri)
    if kind != "file" or not path.is_file():
        raise click.UsageError(f"[{uri}]: give an existing local file or an s3:// URI")
    return {"uri": client.upload_file(config.project, config.domain, path)}


launch = LaunchCommand("launch", callback=_launch, params=list(_TARGET), help=(
    "Start a registered launch plan (or a workflow's default one) by name, with its registered inputs as options."
    "\n\n\b\nslipstream launch my_plan --version v1 --a 3 --wait\nslipstream launch my_plan --help"))
