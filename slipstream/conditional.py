"""conditional(): if/elif/else over promises inside a workflow body, as flytekit's.

    result = (conditional("sign")
              .if_(x > 0).then(positive(x=x))
              .elif_(x < 0).then(negative(x=x))
              .else_().fail("x must not be zero"))

Each `then(...)` receives the call written inside it; the call's node is captured into the case instead
of the workflow, so one branch node holds them all. A case may hold a whole conditional, as flytekit allows:

    result = (conditional("outer")
              .if_(x > 10).then(conditional("inner").if_(y < 0).then(t1(a=x)).else_().then(t2(a=x)))
              .else_().then(t3(a=x)))

Captures nest (the builder keeps a stack), so the inner conditional's cases fill before its branch node lands
in the outer case; case nodes are named after their place, `n0-0-else` being outer case 0's inner else.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ValidationError
from slipstream import type_engine
from slipstream.builder import Node, WorkflowBuilder, current_builder
from slipstream.promise import Condition, NodeOutputs, Promise, VoidPromise


def conditional(name: str) -> ConditionalSection:
    builder = current_builder()
    if builder is None:
        raise ValidationError(f"conditional [{name}] can only be used inside a @workflow or @dynamic body")
    if not isinstance(name, str) or not name:
        raise ValidationError("conditional() needs a name, e.g. conditional(\"fraction\")")
    return ConditionalSection(builder, name)


class ConditionalSection:
    def __init__(self, builder: WorkflowBuilder, name: str) -> None:
        self.builder = builder
        self.name = name
        self.node_id = builder.next_id()
        self.cases: list[dict[str, Any]] = []
        self._outputs: tuple[dict[str, Any], bool] | None = None
        builder.open_conditionals.append(name)

    def if_(self, condition: Condition) -> _Case:
        if self.cases:
            raise ValidationError(f"conditional [{self.name}]: use elif_() after the first if_()")
        return self._case(condition)

    def elif_(self, condition: Condition) -> _Case:
        if not self.cases:
            raise ValidationError(f"conditional [{self.name}]: start with if_()")
        return self._case(condition)

    def else_(self) -> _Else:
        if not self.cases:
            raise ValidationError(f"conditional [{self.name}]: start with if_()")
        return _Else(self)

    def _case(self, condition: Any) -> _Case:
        if isinstance(condition, Promise):
            raise ValidationError(f"conditional [{self.name}]: a promise is not a condition; "
                                  f"write {condition.describe()}.is_true() or compare it, e.g. x > 0")
        if not isinstance(condition, Condition):
            raise ValidationError(f"conditional [{self.name}]: if_() takes a comparison of promises such as "
                                  f"x > 0, not {condition!r}")
        captured: list[Node] = []
        self.builder.start_capture(captured)
        return _Case(self, condition, captured)

    def _record(self, result: Any, captured: list[Node]) -> Node:
        if len(captured) != 1 or not isinstance(result, (Promise, NodeOutputs, VoidPromise)) \
                or result.node_id != captured[0].id:
            raise ValidationError(f"conditional [{self.name}]: then() takes one task or workflow call, "
                                  "written inside it, e.g. .then(t(a=x)) or .then(conditional(...)...)")
        node = captured[0]
        _rename(node, f"{self.node_id}-{len(self.cases)}")
        outputs = _outputs_of(result)
        if self._outputs is None:
            self._outputs = outputs
        elif _described(self._outputs[0]) != _described(outputs[0]):
            raise ValidationError(f"conditional [{self.name}]: every branch must give the same outputs; got "
                                  f"{_described(self._outputs[0])} and {_described(outputs[0])}")
        return node

    def _finish(self, otherwise: Node | None, fail: str | None) -> Any:
        self.builder.open_conditionals.remove(self.name)
        self.builder.add_node(Node(self.node_id, "branch", None, {}, extra={
            "name": self.name, "cases": self.cases, "else": otherwise, "else_fail": fail,
        }))
        outputs, named = self._outputs or ({}, False)
        return self.builder.outputs_of(self.node_id, outputs, named)


def _rename(node: Node, node_id: str) -> None:
    """Name a case's node after its place; a nested conditional's own cases follow it."""
    node.id = node_id
    if node.kind == "branch":
        for i, case in enumerate(node.extra["cases"]):
            _rename(case["then"], f"{node_id}-{i}")
        if node.extra.get("else") is not None:
            _rename(node.extra["else"], f"{node_id}-else")


def _described(outputs: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{name}: {type_engine.describe(t)}" for name, t in outputs.items()) + "}"


def _outputs_of(result: Any) -> tuple[dict[str, Any], bool]:
    if isinstance(result, Promise):
        return {result.output: result.py_type}, False
    if isinstance(result, NodeOutputs):
        return {name: p.py_type for name, p in result._by_name.items()}, True
    return {}, False


class _Case:
    def __init__(self, section: ConditionalSection, condition: Condition, captured: list[Node]) -> None:
        self.section = section
        self.condition = condition
        self.captured = captured

    def then(self, result: Any) -> ConditionalSection:
        node = self.section._record(result, self.captured)
        self.section.cases.append({"condition": self.condition.spec, "then": node})
        return self.section


class _Else:
    def __init__(self, section: ConditionalSection) -> None:
        self.section = section
        self.captured: list[Node] = []
        section.builder.start_capture(self.captured)

    def then(self, result: Any) -> Any:
        node = self.section._record(result, self.captured)
        _rename(node, f"{self.section.node_id}-else")
        return self.section._finish(node, None)

    def fail(self, message: str) -> Any:
        self.section.builder.stop_capture()
        return self.section._finish(None, str(message))
