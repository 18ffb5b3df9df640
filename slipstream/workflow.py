"""@workflow: a DAG of task and workflow calls, built once, when the workflow is first needed.

As in flytekit, the decorator reads only the signature; the body runs (and the graph compiles) on first use —
a call, a run, serialization — so a workflow may call a task defined further down its module, and a broken
workflow does not stop its module from loading: it raises its error, naming itself, each time it is used.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from chalicelib.compiler import CompiledWorkflow, compile_workflow
from chalicelib.errors import SlipstreamError, ValidationError
from slipstream.builder import Graph, Node, build_graph, current_builder
from slipstream.imperative import ImperativeBuilding
from slipstream.interface import Interface, extract_interface
from slipstream.serialization import LOCAL, SerializationSettings, closure_entities, entity_name

F = TypeVar("F", bound=Callable[..., Any])


class Workflow(ImperativeBuilding):
    """A workflow. Inside another workflow a call adds a subworkflow node; elsewhere it runs locally."""

    kind = "workflow"

    def __init__(self, name: str, interface: Interface | None = None, graph: Graph | Callable[[], Graph] | None = None,
                 fn: Callable[..., Any] | None = None) -> None:
        """`graph` is the built graph (checked now) or a function that builds it when first needed (checked
        then). Without an interface this is flytekit's imperative `Workflow(name=...)`, built with
        add_workflow_input / add_entity / add_workflow_output."""
        self.name = name
        self.fn = fn
        self._compiled: dict[SerializationSettings, CompiledWorkflow] = {}
        self._task_objects: dict[str, Any] | None = None
        self._graph: Graph | None = None
        self._build: Callable[[], Graph] | None = None
        self._error: SlipstreamError | None = None
        if interface is None:
            self._start_imperative()
            return
        self.interface = interface
        if callable(graph):
            self._build = graph
        else:
            self._graph = graph
            self.compile(LOCAL)  # a graph built already (a @dynamic expansion): check types, references, cycles

    @classmethod
    def from_function(cls, fn: Callable[..., Any]) -> Workflow:
        name = entity_name(fn)
        interface = extract_interface(fn, f"workflow [{name}]")
        workflow = cls.from_body(name, interface, fn, fn)
        workflow.__doc__ = fn.__doc__
        return workflow

    @classmethod
    def from_body(cls, name: str, interface: Interface, body: Callable[..., Any],
                  fn: Callable[..., Any] | None = None) -> Workflow:
        """A workflow whose graph `body` builds when the workflow is first needed."""
        return cls(name, interface, functools.partial(_build_from_body, name, interface, body), fn)

    @property
    def graph(self) -> Graph:
        """The graph, built on first use; a failed build raises the same error each time it is needed."""
        if self._graph is not None:
            return self._graph
        if self._error is not None:
            raise self._error
        if self._build is None:
            raise ValidationError(f"workflow [{self.name}] has no graph yet; add nodes with add_entity()")
        try:
            self._graph = self._build()
            self.compile(LOCAL)
        except SlipstreamError as exc:
            self._graph, self._error = None, exc
            raise
        return self._graph

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
            if node.kind != "gate" and callee is not None and callee not in found:
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


def _build_from_body(name: str, interface: Interface, fn: Callable[..., Any]) -> Graph:
    try:
        return build_graph(name, interface, fn)
    except SlipstreamError:
        raise
    except Exception as exc:  # the body's own bug (NameError, TypeError, …): name the workflow and the cause
        raise ValidationError(f"workflow [{name}] cannot be built: its body raised {type(exc).__name__}: {exc}; "
                              "fix the body (a workflow body only calls tasks and workflows)") from exc


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
    if node.extra.get("overrides"):
        spec["overrides"] = copy.deepcopy(node.extra["overrides"])
    if node.kind == "gate":  # slipstream.gates: no entity, its fields inline
        spec.update(copy.deepcopy(node.extra))
    elif node.kind == "map":
        spec["task"] = settings.identifier(node.entity.task.name)
        spec["mapped_inputs"] = sorted(node.extra["mapped_inputs"])
        spec["concurrency"] = node.extra["concurrency"]
        spec["min_success_ratio"] = node.extra["min_success_ratio"]
        if node.extra.get("batch_size"):  # absent unless asked: existing workflows keep their content hash
            spec["batch_size"] = node.extra["batch_size"]
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

