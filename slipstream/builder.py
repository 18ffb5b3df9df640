"""The workflow builder: records the nodes a workflow (or @dynamic) body creates while it runs once.

The active builder lives in a context variable for the duration of one body, so that a task call knows
which graph it belongs to; everything else is passed explicitly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Optional

from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream import type_engine
from slipstream.interface import Interface
from slipstream.promise import NodeOutputs, Promise, VoidPromise, _Ordered

_ACTIVE: ContextVar[WorkflowBuilder | None] = ContextVar("slipstream_builder", default=None)


def current_builder() -> WorkflowBuilder | None:
    return _ACTIVE.get()


@dataclass
class Node:
    """A node while it is built: `entity` is the task or workflow object, turned into an id at spec time."""

    id: str
    kind: str  # task | workflow | map | branch
    entity: Any
    inputs: dict[str, dict[str, Any]]
    upstream: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class WorkflowBuilder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[Node] = []
        self._count = 0
        # where the next node goes while a conditional case is built: a stack, as a case may hold a conditional
        self._captures: list[list[Node]] = []
        self.open_conditionals: list[str] = []
        self._every_node: dict[str, Node] = {}

    @contextlib.contextmanager
    def active(self) -> Iterator[WorkflowBuilder]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def next_id(self) -> str:
        node_id = f"n{self._count}"
        self._count += 1
        return node_id

    def start_capture(self, into: list[Node]) -> None:
        """Send the next node added into `into` (a conditional case) instead of the workflow; captures nest, the
        innermost first, so a conditional written inside a case's then() lands in that case."""
        self._captures.append(into)

    def stop_capture(self) -> None:
        """Drop the innermost capture that took no node (an `.else_().fail(...)`)."""
        self._captures.pop()

    def add_node(self, node: Node) -> None:
        self._every_node[node.id] = node
        if self._captures:
            self._captures.pop().append(node)
        else:
            self.nodes.append(node)

    def call(self, entity: Any, kind: str, interface: Interface, kwargs: dict[str, Any],
             mapped: frozenset[str] = frozenset(), extra: dict[str, Any] | None = None) -> Any:
        """Add a node that calls `entity` with `kwargs` and return promises of its outputs."""
        node_id = self.next_id()
        where = f"workflow [{self.name}] node [{node_id}] ({entity.name})"
        unknown = sorted(set(kwargs) - set(interface.inputs))
        if unknown:
            raise ValidationError(f"{where} has no input {unknown}; its inputs are {list(interface.inputs)}")
        inputs: dict[str, dict[str, Any]] = {}
        for name, py_type in interface.inputs.items():
            if name in kwargs:
                target = list[py_type] if name in mapped else py_type  # type: ignore[valid-type]
                inputs[name] = self.binding(kwargs[name], target, f"{where} input [{name}]")
            elif name not in interface.defaults and "optional" not in type_engine.literal_type_of(py_type):
                raise ValidationError(f"{where} is missing input [{name}] ({type_engine.describe(py_type)}); "
                                      f"pass {name}=...")
        self.add_node(Node(node_id, kind, entity, inputs, extra=extra or {}))
        outputs = interface.outputs
        if mapped:
            ratio = (extra or {}).get("min_success_ratio", 1.0)
            outputs = {n: list[t] if ratio >= 1 else list[Optional[t]]  # type: ignore[valid-type]
                       for n, t in outputs.items()}
        return self.outputs_of(node_id, outputs, interface.output_tuple is not None)

    def outputs_of(self, node_id: str, outputs: dict[str, Any], named: bool) -> Any:
        if not outputs:
            return VoidPromise(self, node_id)
        promises = {name: Promise(self, node_id, name, t) for name, t in outputs.items()}
        if len(promises) == 1 and not named:
            return next(iter(promises.values()))
        return NodeOutputs(self, node_id, promises)

    def binding(self, value: Any, py_type: Any, where: str) -> dict[str, Any]:
        """The binding of `value` to an input of `py_type`: a promise, a workflow input, a list or dict of
        them, or a constant converted to JSON now."""
        if isinstance(value, Promise):
            if value.builder is not self:
                raise ValidationError(f"{where}: {value.describe()} belongs to another workflow; "
                                      "pass it in as an input")
            target = type_engine.literal_type_of(py_type)
            if not lt.is_assignable(value.literal_type, target):
                raise TypeMismatchError(
                    f"{where}: expected {lt.describe(target)}, but {value.describe()} is "
                    f"{lt.describe(value.literal_type)}; pass a value of type {lt.describe(target)}"
                )
            return value.binding()
        if isinstance(value, NodeOutputs):
            first = next(iter(value._by_name))
            if len(value) == 1:  # a one-field NamedTuple: flytekit refuses it whole, too
                raise ValidationError(f"{where}: node [{value.node_id}] returns a NamedTuple; pass its field, "
                                      f"e.g. result.{first}")
            raise ValidationError(f"{where}: node [{value.node_id}] has several outputs; pick one, e.g. "
                                  f"result.{first}")
        if isinstance(value, VoidPromise):
            raise ValidationError(f"{where}: node [{value.node_id}] has no outputs; use `>>` to order it instead")
        if _holds_promise(value):
            return self._collection_binding(value, py_type, where)
        return {"value": type_engine.to_json(value, py_type, where)}

    def _collection_binding(self, value: Any, py_type: Any, where: str) -> dict[str, Any]:
        import typing

        args = typing.get_args(py_type)
        inner = [a for a in args if a is not type(None)]
        if typing.get_origin(py_type) in (typing.Union, type(int | None)) and len(inner) == 1:
            py_type, args = inner[0], typing.get_args(inner[0])
        origin = typing.get_origin(py_type)
        if isinstance(value, (list, tuple)) and origin is list:
            return {"list": [self.binding(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict) and origin is dict:
            return {"map": {k: self.binding(v, args[1], f"{where}[{k!r}]") for k, v in value.items()}}
        raise TypeMismatchError(f"{where}: expected {type_engine.describe(py_type)}, got a "
                                f"{type(value).__name__} of promises")

    def order(self, first: _Ordered, then: _Ordered) -> None:
        for item in (first, then):
            if item.node_id is None:
                raise ValidationError(f"workflow [{self.name}]: `>>` orders nodes; a workflow input is not a node")
        node = self.find(then.node_id)  # type: ignore[arg-type]
        if first.node_id not in node.upstream:
            node.upstream.append(first.node_id)  # type: ignore[arg-type]

    def override(self, result: _Ordered, options: dict[str, Any]) -> None:
        from slipstream.overrides import overrides_spec

        if result.node_id is None:
            raise ValidationError(f"workflow [{self.name}]: with_overrides applies to a call, not a workflow input")
        node = self._every_node[result.node_id]  # also a node inside a conditional case
        where = f"workflow [{self.name}] node [{node.id}]"
        if node.kind not in ("task", "map"):
            raise ValidationError(f"{where}: with_overrides applies to task and map_task calls, not to a "
                                  f"{node.kind} call; set these options on the tasks it calls")
        node.extra["overrides"] = {**node.extra.get("overrides", {}), **overrides_spec(where, options)}

    def find(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise ValidationError(f"workflow [{self.name}]: node [{node_id}] is inside a conditional and cannot be ordered")


def _holds_promise(value: Any) -> bool:
    if isinstance(value, (Promise, NodeOutputs, VoidPromise)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_promise(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_promise(v) for v in value.values())
    return False


@dataclass(frozen=True)
class Graph:
    """What one run of a workflow body built: its nodes and the bindings of its outputs."""

    nodes: list[Node]
    outputs: dict[str, dict[str, Any]]


def build_graph(name: str, interface: Interface, body: Any, values: dict[str, Any] | None = None) -> Graph:
    """Run `body` once under a new builder. Its inputs are promises of the workflow's inputs, or, for a
    @dynamic task, the real `values`."""
    builder = WorkflowBuilder(name)
    if values is None:
        values = {n: Promise(builder, None, n, t) for n, t in interface.inputs.items()}
    with builder.active():
        result = body(**values)
    if builder.open_conditionals:
        raise ValidationError(f"workflow [{name}]: conditional {builder.open_conditionals} is not finished; "
                              "end it with .else_().then(...) or .else_().fail(...)")
    owner = f"workflow [{name}]"
    if not interface.outputs:
        if result is not None and not isinstance(result, VoidPromise):
            raise ValidationError(f"{owner} returns {result!r} but declares no outputs; annotate its return type")
        return Graph(builder.nodes, {})
    values_by_name = interface.unpack_outputs(result, owner)
    outputs = {
        out: builder.binding(value, interface.outputs[out], f"{owner} output [{out}]")
        for out, value in values_by_name.items()
    }
    return Graph(builder.nodes, outputs)
