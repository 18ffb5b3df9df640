"""@workflow: a DAG of task and workflow calls, built once when the decorator runs (Flyte's semantics)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar, overload

from chalicelib.compiler import CompiledWorkflow, compile_workflow
from chalicelib.errors import ValidationError
from slipstream.builder import Graph, Node, build_graph, current_builder
from slipstream.interface import Interface, extract_interface
from slipstream.serialization import LOCAL, SerializationSettings, closure_entities, entity_name

F = TypeVar("F", bound=Callable[..., Any])


class Workflow:
    """A workflow. Inside another workflow a call adds a subworkflow node; elsewhere it runs locally."""

    kind = "workflow"

    def __init__(self, name: str, interface: Interface, graph: Graph, fn: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.interface = interface
        self.graph = graph
        self.fn = fn
        self._compiled: dict[SerializationSettings, CompiledWorkflow] = {}
        self._task_objects: dict[str, Any] | None = None
        self.compile(LOCAL)  # definition-time check: types, references, cycles

    @classmethod
    def from_function(cls, fn: Callable[..., Any]) -> Workflow:
        name = entity_name(fn)
        interface = extract_interface(fn, f"workflow [{name}]")
        workflow = cls(name, interface, build_graph(name, interface, fn), fn)
        workflow.__doc__ = fn.__doc__
        return workflow

    def __repr__(self) -> str:
        return f"Workflow({self.name})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            call = ", ".join(f"{n}=..." for n in self.interface.inputs)
            raise ValidationError(f"workflow [{self.name}] takes keyword arguments only: call it as "
                                  f"{self.name.rsplit('.', 1)[-1]}({call})")
        builder = current_builder()
        if builder is not None:
            return builder.call(self, "workflow", self.interface, kwargs)
        from slipstream.local import run_locally

        return run_locally(self, kwargs)

    def dependencies(self) -> list[Any]:
        found: list[Any] = []
        for node in _all_nodes(self.graph.nodes):
            callee = node.entity.task if node.kind == "map" else node.entity
            if callee is not None and callee not in found:
                found.append(callee)
        return found

    def to_spec(self, settings: SerializationSettings) -> dict[str, Any]:
        return {
            "kind": "workflow",
            "schema_version": 1,
            "id": settings.identifier(self.name),
            "interface": self.interface.to_spec(f"workflow [{self.name}]"),
            "nodes": [_node_spec(node, settings) for node in self.graph.nodes],
            "outputs": copy.deepcopy(self.graph.outputs),
        }

    def task_objects(self) -> dict[str, Any]:
        """The Python task objects of the closure, by their local key (what the local engine runs)."""
        if self._task_objects is None:
            self._task_objects = {LOCAL.key(e.name): e for e in closure_entities(self).values() if e.kind == "task"}
        return dict(self._task_objects)

    def compile(self, settings: SerializationSettings) -> CompiledWorkflow:
        """The compiled closure of this workflow under `settings` (cached: the graph never changes)."""
        compiled = self._compiled.get(settings)
        if compiled is None:
            tasks: dict[str, Any] = {}
            workflows: dict[str, Any] = {}
            for entity in closure_entities(self).values():
                spec = entity.to_spec(settings)
                pool = workflows if entity.kind == "workflow" else tasks
                pool[settings.key(entity.name)] = spec
            compiled = compile_workflow(workflows[settings.key(self.name)], tasks, workflows)
            self._compiled[settings] = compiled
        return compiled


def _all_nodes(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for node in nodes:
        out.append(node)
        if node.kind == "branch":
            out.extend(_all_nodes([case["then"] for case in node.extra["cases"]]))
            if node.extra.get("else") is not None:
                out.extend(_all_nodes([node.extra["else"]]))
    return out


def _node_spec(node: Node, settings: SerializationSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": node.id, "kind": node.kind, "upstream": list(node.upstream)}
    if node.kind == "branch":
        spec["name"] = node.extra["name"]
        spec["cases"] = [{"condition": copy.deepcopy(c["condition"]), "then": _node_spec(c["then"], settings)}
                         for c in node.extra["cases"]]
        otherwise = node.extra.get("else")
        spec["else"] = _node_spec(otherwise, settings) if otherwise is not None else None
        spec["else_fail"] = node.extra.get("else_fail")
        return spec
    spec["inputs"] = copy.deepcopy(node.inputs)
    if node.kind == "map":
        spec["task"] = settings.identifier(node.entity.task.name)
        spec["mapped_inputs"] = sorted(node.extra["mapped_inputs"])
        spec["concurrency"] = node.extra["concurrency"]
        spec["min_success_ratio"] = node.extra["min_success_ratio"]
    else:
        spec[node.kind] = settings.identifier(node.entity.name)
    return spec


@overload
def workflow(fn: F) -> Workflow: ...


@overload
def workflow(fn: None = None) -> Callable[[F], Workflow]: ...


def workflow(fn: Callable[..., Any] | None = None) -> Any:
    """Declare a workflow, as flytekit's @workflow. Its body runs once, now, to build the graph."""
    if fn is None:
        return Workflow.from_function
    return Workflow.from_function(fn)
