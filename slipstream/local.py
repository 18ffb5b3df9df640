"""Run a workflow, launch plan or dynamic task on this machine: Python values in, Python values out,
through the compiled IR and the local engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.compiler import resolve_inputs
from slipstream import type_engine
from slipstream.cache import LocalCache
from slipstream.engine import LocalEngine, NodeRecord
from slipstream.interface import Interface
from slipstream.serialization import LOCAL


@dataclass
class LocalExecution:
    outputs: dict[str, Any]  # JSON literals by output name
    records: list[NodeRecord]
    interface: Interface

    def python_outputs(self) -> Any:
        return self.interface.pack_outputs(
            {n: type_engine.from_json(self.outputs[n], t) for n, t in self.interface.outputs.items()})


def execute_locally(entity: Any, kwargs: dict[str, Any], *, cache: LocalCache | None = None,
                    on_event: Callable[[NodeRecord], None] | None = None, gates: Any = None) -> LocalExecution:
    """Check `kwargs` against the entity's interface, run it, and return the JSON outputs and node records."""
    defaults: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    if entity.kind == "launch_plan":
        defaults, fixed = entity.default_inputs, entity.fixed_inputs
        entity = entity.workflow
    interface = entity.interface
    owner = f"{entity.kind} [{entity.name}]"
    given = {n: type_engine.to_json(v, interface.inputs[n], f"{owner} input [{n}]")
             for n, v in kwargs.items() if n in interface.inputs}
    given.update({n: v for n, v in kwargs.items() if n not in interface.inputs})  # refused by resolve_inputs
    if entity.kind == "task" and entity.task_type != "dynamic":
        entity = single_task_workflow(entity)
    if entity.kind == "task":  # a @dynamic task called directly: expand it now
        inputs_spec = interface.to_spec(owner)["inputs"]
        entity = entity.expand(resolve_inputs(inputs_spec, given, defaults=defaults, fixed=fixed, owner=owner))
        given, defaults, fixed = {}, {}, {}
    compiled = entity.compile(LOCAL)  # cached on the workflow, as are its task objects
    resolved = resolve_inputs(compiled.workflow["interface"]["inputs"], given, defaults=defaults, fixed=fixed,
                              owner=owner)
    engine = LocalEngine(entity.task_objects(), cache=cache if cache is not None else LocalCache.default(),
                         on_event=on_event, gates=gates)
    outputs = engine.run(compiled, resolved)
    return LocalExecution(outputs, engine.records, interface)


def run_locally(entity: Any, kwargs: dict[str, Any]) -> Any:
    return execute_locally(entity, kwargs).python_outputs()


def single_task_workflow(task: Any) -> Any:
    """A one-node workflow that runs `task` with the task's own inputs and outputs: how a task runs on its own
    (`slipstream run FILE TASK`) through the same IR and engine as a workflow."""
    interface = task.interface

    def body(**kwargs: Any) -> Any:
        return task(**kwargs)

    from slipstream.workflow import Workflow

    return Workflow.from_body(f"flytegen.{task.name}", interface, body)
