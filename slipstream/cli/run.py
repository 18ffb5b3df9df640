"""`slipstream run [--json] FILE WORKFLOW [--input value …]`: run a workflow, launch plan or task.

`run` is a group whose subcommands are files, whose subcommands are the entities in them, so that
`slipstream run FILE WORKFLOW --help` lists that workflow's inputs (flytekit's `pyflyte run` shape).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from slipstream.cli.output import print_outputs
from slipstream.cli.register import image_option


class RunGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return []

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return FileGroup(name=name, help=f"Workflows, launch plans and tasks in {name}.")

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        return args[0], self.get_command(ctx, args[0]), args[1:]


class FileGroup(click.Group):
    def _module(self) -> Any:
        from slipstream.loader import load_file

        return load_file(self.name or "")

    def list_commands(self, ctx: click.Context) -> list[str]:
        module = self._module()
        from slipstream.loader import entities_in

        found = entities_in(module)
        return sorted(name for name, value in vars(module).items() if any(value is e for e in found))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from slipstream.loader import find_entity

        ctx.meta["run_file"] = self.name
        entity = find_entity(self._module(), name)
        return _entity_command(name, entity)


def _entity_command(name: str, entity: Any) -> click.Command:
    from slipstream.cli.params import options_for

    fixed: frozenset[str] = frozenset()
    target = entity
    defaults: dict[str, Any] = {}
    if entity.kind == "launch_plan":
        target = entity.workflow
        fixed = frozenset(entity.fixed_inputs)
        defaults = {n: _python_default(target, n, v) for n, v in entity.default_inputs.items()}
    interface = target.interface
    defaults = {**interface.defaults, **defaults}

    def callback(**kwargs: Any) -> None:
        ctx = click.get_current_context()
        given = {k: v for k, v in kwargs.items() if v is not None}
        options = ctx.meta["run_options"]
        if options["remote"]:
            from slipstream.cli.remote import run_remote

            run_remote(ctx.meta["run_file"], entity, given, as_json=options["as_json"], wait=options["wait"],
                       project=options["project"], domain=options["domain"], version=options["version"],
                       name=options["name"], image=options["image"])
        else:
            _run_local(entity, given, as_json=options["as_json"], signals=options.get("signals", ()))

    doc = (getattr(target, "fn", None) and target.fn.__doc__) or f"Run {entity.kind} {entity.name}."
    return click.Command(name, callback=callback, params=options_for(interface.inputs, defaults, fixed),
                         help=doc.strip().splitlines()[0])


def _python_default(workflow: Any, name: str, value: Any) -> Any:
    from slipstream import type_engine

    return type_engine.from_json(value, workflow.interface.inputs[name])


def _run_local(entity: Any, kwargs: dict[str, Any], as_json: bool, signals: tuple[str, ...] = ()) -> None:
    from slipstream.engine import NodeRecord
    from slipstream.gates import GateAnswers, parse_signal_options
    from slipstream.local import execute_locally

    def on_event(record: NodeRecord) -> None:
        if record.cache_hit:
            click.echo(f"cache hit: {record.node_id} ({record.task})", err=True)

    gates = GateAnswers(parse_signal_options(signals), echo=lambda text: click.echo(text, err=True))
    execution = execute_locally(entity, kwargs, on_event=on_event, gates=gates)
    print_outputs(execution.outputs, as_json=as_json)
    sys.stdout.flush()


@click.group("run", cls=RunGroup, invoke_without_command=False)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line: the outputs by name.")
@click.option("--remote", is_flag=True,
              help="Register the file and run it on the control plane (the sandbox by default).")
@click.option("--wait", is_flag=True, help="With --remote: follow the execution and print its outputs.")
@click.option("-p", "--project", default=None, help="With --remote: the project (default: configured, or default).")
@click.option("-d", "--domain", default=None, help="With --remote: the domain (default: development).")
@click.option("-v", "--version", default=None, help="With --remote: the version to register (default: from the code).")
@click.option("--name", default=None, help="With --remote: the execution's name (idempotent).")
@image_option
@click.option("--signal", "signals", multiple=True, metavar="NAME=VALUE",
              help="Answer a gate ahead of time (wait_for_input's value, or yes/no for approve); else asked.")
@click.pass_context
def run(ctx: click.Context, as_json: bool, remote: bool, wait: bool, project: str | None, domain: str | None,
        version: str | None, name: str | None, image: str | None, signals: tuple[str, ...]) -> None:
    """Run a workflow, launch plan or task from FILE on this machine.

    \b
    slipstream run examples/hello.py my_wf --a 50 --b hello
    slipstream run --json examples/hello.py my_wf --a 50 --b hello
    slipstream run examples/hello.py my_wf --help
    slipstream run --remote --wait examples/hello.py my_wf --a 50 --b hello
    slipstream run --remote --image ghcr.io/acme/tasks:1.4 examples/hello.py my_wf
    slipstream run --signal count=3 --signal deploy=yes examples/gates.py gated
    """
    if image and not remote:
        raise click.UsageError("--image applies to --remote runs; a local run uses this Python, not an image")
    ctx.meta["run_options"] = {"as_json": as_json, "remote": remote, "wait": wait, "project": project,
                               "domain": domain, "version": version, "name": name, "image": image,
                               "signals": signals}
