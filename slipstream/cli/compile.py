"""`slipstream compile FILE WORKFLOW --asl --output DIR`: write the state machines the control plane would
create for a workflow, without creating them (as `metaflow step-functions create --only-json` does).

The definitions come from the same steps as an execution's: the workflow's registered closure, the
execution plan, then `compile_asl` with the control plane's default settings, so what is written here
is what a deployment with that name prefix creates, machine names included.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click


@click.command("compile")
@click.argument("file")
@click.argument("workflow")
@click.option("--asl", "asl", is_flag=True, help="Write Amazon States Language: one <machine>.asl.json per machine.")
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None, help="The folder to write into.")
@click.option("--prefix", default="slipstream", show_default=True,
              help="The deployment's state machine name prefix (its stack name).")
def compile_command(file: str, workflow: str, asl: bool, output: str | None, prefix: str) -> None:
    """Write the state machine definitions of WORKFLOW (or a launch plan's workflow) in FILE.

    \b
    slipstream compile examples/map_reduce.py inverses --asl --output build/asl
    """
    from chalicelib.errors import UserError

    if not asl:
        raise UserError("say what to compile: --asl (Amazon States Language, the only output for now)")
    if output is None:
        raise UserError("give the folder to write the definitions into: --output DIR")
    machines = compile_machines(file, workflow, prefix)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    for name, definition in machines.definitions.items():  # the root first
        path = folder / f"{name}.asl.json"
        path.write_text(json.dumps(definition, indent=2, sort_keys=True) + "\n")
        click.echo(str(path))
    count = len(machines.definitions)
    click.echo(f"wrote {count} state machine definition{'s' if count > 1 else ''} to {folder}; the root is "
               f"{machines.root}", err=True)


def compile_machines(file: str, name: str, prefix: str) -> Any:
    """The `StateMachines` an execution of workflow (or launch plan) `name` in `file` would create."""
    from chalicelib.compiler import CompiledWorkflow
    from chalicelib.compiler.asl import compile_asl
    from chalicelib.compiler.plan import build_plan
    from chalicelib.config import Settings
    from chalicelib.errors import UserError
    from chalicelib.executions import asl_options
    from slipstream.loader import find_entity, load_file
    from slipstream.serialization import LOCAL

    entity = find_entity(load_file(file), name)
    target = entity.workflow if entity.kind == "launch_plan" else entity
    if target.kind != "workflow":
        raise UserError(f"[{name}] in [{file}] is a {entity.kind}; compile a workflow or a launch plan")
    closure = json.loads(json.dumps(target.compile(LOCAL).closure()))  # as registration stores it
    try:
        plan = build_plan(CompiledWorkflow.from_closure(closure))
    except NotImplementedError as exc:
        raise UserError(f"workflow [{target.name}] uses {exc}, which remote runs do not support yet; call a task "
                        "there instead") from None
    settings = dataclasses.replace(Settings.for_stack("slipstream"), name_prefix=prefix)
    return compile_asl(plan, asl_options(settings))
