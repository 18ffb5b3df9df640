"""flytekit's imperative workflow API: `Workflow(name=...)` grown one input, node and output at a time.

    wf = Workflow(name="my.imperative.workflow")
    wf.add_workflow_input("in1", str)
    node = wf.add_entity(t1, a=wf.inputs["in1"])
    wf.add_workflow_output("out", node.outputs["o0"])
    wf(in1="hello")

It records into the same builder a `@workflow` body uses, so the result is the same graph, IR and engine. The
mixin keeps that API out of workflow.py; the graph is rebuilt (and recompiled) after every change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.errors import ValidationError
from slipstream import type_engine
from slipstream.builder import Graph, WorkflowBuilder
from slipstream.interface import Interface
from slipstream.promise import NodeOutputs, Promise, VoidPromise, _Ordered

if TYPE_CHECKING:
    from slipstream.serialization import SerializationSettings


class ImperativeNode(_Ordered):
    """What add_entity returns: the node's id and its outputs by name (`node.outputs["o0"]`); `a >> b` orders."""

    def __init__(self, builder: WorkflowBuilder, node_id: str, outputs: dict[str, Promise]) -> None:
        self.builder = builder
        self.node_id = node_id
        self.outputs = outputs

    @property
    def id(self) -> str:
        return self.node_id or ""

    def runs_before(self, other: _Ordered) -> None:
        self.builder.order(self, other)

    def __repr__(self) -> str:
        return f"Node({self.node_id}: outputs {list(self.outputs)})"


class ImperativeBuilding:
    """The imperative half of Workflow. State lives on the workflow: `_builder` and `_output_bindings`."""

    name: str
    interface: Interface
    _builder: WorkflowBuilder
    _output_bindings: dict[str, dict[str, Any]]
    _build: Any
    _graph: Graph | None
    _error: Any
    _compiled: dict[SerializationSettings, Any]
    _task_objects: dict[str, Any] | None

    def _start_imperative(self) -> None:
        self.interface = Interface({}, {}, {}, None)
        self._builder = WorkflowBuilder(self.name)
        self._output_bindings = {}
        self._build = self._imperative_graph

    def _changed(self) -> None:
        self._graph, self._error, self._task_objects = None, None, None
        self._compiled.clear()

    def _require_imperative(self, method: str) -> WorkflowBuilder:
        builder = getattr(self, "_builder", None)
        if builder is None:
            raise ValidationError(f"workflow [{self.name}]: {method}() builds an imperative Workflow(name=...); "
                                  "a @workflow's graph comes from its body")
        return builder

    @property
    def inputs(self) -> dict[str, Promise]:
        """The workflow's inputs as promises, to pass to add_entity (flytekit's `wf.inputs["name"]`)."""
        builder = self._require_imperative("inputs")
        return {name: Promise(builder, None, name, t) for name, t in self.interface.inputs.items()}

    def add_workflow_input(self, input_name: str, python_type: Any) -> Promise:
        builder = self._require_imperative("add_workflow_input")
        if input_name in self.interface.inputs:
            raise ValidationError(f"workflow [{self.name}] already has input [{input_name}]; use another name")
        try:
            type_engine.converter(python_type)
        except ValidationError as exc:
            raise ValidationError(f"workflow [{self.name}] input [{input_name}]: {exc}") from None
        self._set_interface(inputs={**self.interface.inputs, input_name: python_type})
        return Promise(builder, None, input_name, python_type)

    def add_entity(self, entity: Any, **kwargs: Any) -> ImperativeNode:
        """Add a node calling a task, map task or workflow with `kwargs` (constants or promises)."""
        builder = self._require_imperative("add_entity")
        with builder.active():
            result = entity(**kwargs)
        self._changed()
        if isinstance(result, NodeOutputs):
            return ImperativeNode(builder, result.node_id or "", dict(result._by_name))
        if isinstance(result, Promise):
            return ImperativeNode(builder, result.node_id or "", {result.output: result})
        if isinstance(result, VoidPromise):
            return ImperativeNode(builder, result.node_id or "", {})
        raise ValidationError(f"workflow [{self.name}]: add_entity() takes a task or workflow, not {entity!r}")

    add_task = add_entity
    add_subwf = add_entity

    def add_workflow_output(self, output_name: str, p: Any, python_type: Any = None) -> None:
        """Bind output `output_name` to a promise (its type is the promise's) or to a list or dict of promises
        (then `python_type` is required, as in flytekit)."""
        builder = self._require_imperative("add_workflow_output")
        if output_name in self.interface.outputs:
            raise ValidationError(f"workflow [{self.name}] already has output [{output_name}]; use another name")
        if python_type is None:
            if not isinstance(p, Promise):
                raise ValidationError(f"workflow [{self.name}] output [{output_name}]: pass python_type=... for a "
                                      "list or dict of promises, starting with the container, e.g. list[int]")
            python_type = p.py_type
        binding = builder.binding(p, python_type, f"workflow [{self.name}] output [{output_name}]")
        self._output_bindings[output_name] = binding
        self._set_interface(outputs={**self.interface.outputs, output_name: python_type})

    def ready(self) -> bool:
        """True once there is a node and every input is used by one (flytekit's rule)."""
        builder = self._require_imperative("ready")
        return bool(builder.nodes) and not self._unused_inputs()

    def _set_interface(self, inputs: dict[str, Any] | None = None, outputs: dict[str, Any] | None = None) -> None:
        current = self.interface
        self.interface = Interface(current.inputs if inputs is None else inputs, {},
                                   current.outputs if outputs is None else outputs, None)
        self._changed()

    def _unused_inputs(self) -> list[str]:
        used: set[str] = set()
        for node in self._builder.nodes:
            for binding in node.inputs.values():
                _inputs_in(binding, used)
        return [name for name in self.interface.inputs if name not in used]

    def _imperative_graph(self) -> Graph:
        if not self._builder.nodes:
            raise ValidationError(f"workflow [{self.name}] has no nodes; add one with add_entity()")
        unused = self._unused_inputs()
        if unused:
            raise ValidationError(f"workflow [{self.name}]: inputs {unused} are not passed to any node; pass them "
                                  "to add_entity()")
        return Graph(list(self._builder.nodes), dict(self._output_bindings))


def _inputs_in(binding: dict[str, Any], into: set[str]) -> None:
    if "input" in binding:
        into.add(binding["input"])
    for item in binding.get("list", []):
        _inputs_in(item, into)
    for item in binding.get("map", {}).values():
        _inputs_in(item, into)
