"""Promises: what task and workflow calls return while a workflow body builds its graph.

A promise stands for a value that will exist when its node has run. Comparing promises builds conditions
for `conditional`; `a >> b` orders two nodes without data between them.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any

from chalicelib.errors import SlipstreamError, ValidationError
from slipstream import type_engine

if TYPE_CHECKING:
    from slipstream.builder import WorkflowBuilder


class _Ordered:
    """Something that names a node and can be ordered with `>>`."""

    builder: WorkflowBuilder
    node_id: str | None

    def __rshift__(self, other: Any) -> Any:
        if not isinstance(other, _Ordered):
            raise ValidationError(f"`>>` orders node outputs, not {other!r}")
        self.builder.order(self, other)
        return other

    def with_overrides(self, **options: Any) -> Any:
        """Per-node options of the call that made this (flytekit's `with_overrides`): retries, timeout, cache,
        cache_version, interruptible, requests, limits, container_image, name. Returns the same result."""
        self.builder.override(self, options)
        return self


class Promise(_Ordered):
    """One output of a node, or a workflow input (`node_id` None); with a `path`, a part of it (`box.width`,
    `xs[1]`, `d["k"]`) that the engines read from the JSON value between nodes."""

    __slots__ = ("builder", "node_id", "output", "py_type", "path", "label")

    def __init__(self, builder: WorkflowBuilder, node_id: str | None, output: str, py_type: Any,
                 path: tuple[str | int, ...] = (), label: str | None = None) -> None:
        self.builder = builder
        self.node_id = node_id
        self.output = output
        self.py_type = py_type
        self.path = path
        self.label = label  # how messages name a part: [n0.o0].tags[2]

    @property
    def literal_type(self) -> dict[str, Any]:
        return type_engine.literal_type_of(self.py_type)

    def binding(self) -> dict[str, Any]:
        whole = {"input": self.output} if self.node_id is None else {
            "promise": {"node": self.node_id, "output": self.output}}
        return {"attr": {"of": whole, "path": list(self.path)}} if self.path else whole

    def describe(self) -> str:
        if self.label is not None:
            return self.label
        return f"input [{self.output}]" if self.node_id is None else f"[{self.node_id}.{self.output}]"

    def _part(self, step: str | int) -> Promise:
        part_type = _part_type(self.py_type, step, self.describe)
        shown = f"[{step!r}]" if isinstance(step, int) or _is_dict(self.py_type) else f".{step}"
        return Promise(self.builder, self.node_id, self.output, part_type, (*self.path, step), self.describe() + shown)

    def __repr__(self) -> str:
        return f"Promise({self.describe()}: {type_engine.describe(self.py_type)})"

    def __bool__(self) -> bool:
        raise ValidationError(
            f"{self.describe()} is a promise: its value exists only when the workflow runs, so Python's "
            "`if`, `and`, `or` and `not` cannot use it; use conditional(...).if_(...) with `&` and `|`"
        )

    def __iter__(self) -> Any:
        raise ValidationError(f"{self.describe()} is a single output and cannot be unpacked or iterated; "
                              "use a map_task or a @dynamic task to loop over a list")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in Promise.__slots__:
            raise AttributeError(name)
        return self._part(name)

    def __getitem__(self, key: Any) -> Promise:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise ValidationError(f"{self.describe()}[{key!r}]: index a promise with an integer (lists) or a "
                                  "string (dicts); slices and other keys are read in the task that receives it")
        return self._part(key)

    def __lt__(self, other: Any) -> Comparison:
        return Comparison("<", self, other)

    def __le__(self, other: Any) -> Comparison:
        return Comparison("<=", self, other)

    def __gt__(self, other: Any) -> Comparison:
        return Comparison(">", self, other)

    def __ge__(self, other: Any) -> Comparison:
        return Comparison(">=", self, other)

    def __eq__(self, other: Any) -> Comparison:  # type: ignore[override]
        return Comparison("==", self, other)

    def __ne__(self, other: Any) -> Comparison:  # type: ignore[override]
        return Comparison("!=", self, other)

    __hash__ = object.__hash__

    def is_true(self) -> Comparison:
        return Comparison("==", self, True)

    def is_false(self) -> Comparison:
        return Comparison("==", self, False)

    def is_none(self) -> Condition:
        return Condition({"is_none": self.binding()}, self.builder)


def _is_dict(py_type: Any) -> bool:
    return typing.get_origin(py_type) is dict


def _part_type(py_type: Any, step: str | int, where: Any) -> Any:
    """The Python type of `value.step` / `value[step]` for a value of `py_type`, as the IR can address it."""
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if isinstance(step, int) and origin is list:
        return args[0]
    if isinstance(step, str) and origin is dict:
        return args[1]
    if isinstance(step, str) and isinstance(py_type, type):
        fields = _fields_of(py_type)
        if fields is not None:
            if step not in fields:
                raise ValidationError(f"{where()} has no attribute [{step}]: {py_type.__qualname__} has fields "
                                      f"{list(fields)}")
            return fields[step]
    shown = type_engine.describe(py_type) if _describable(py_type) else repr(py_type)
    raise ValidationError(f"{where()} is {shown}: a promise's parts are fields of dataclasses, integer indices of "
                          f"lists and string keys of dicts, not [{step!r}]; read it in the task that receives it")


def _fields_of(cls: type) -> dict[str, Any] | None:
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    model_fields = getattr(cls, "model_fields", None)  # a pydantic v2 model
    if isinstance(model_fields, dict):
        return {name: info.annotation for name, info in model_fields.items()}
    return None


def _describable(py_type: Any) -> bool:
    try:
        type_engine.converter(py_type)
    except SlipstreamError:
        return False
    return True


class NodeOutputs(tuple, _Ordered):
    """The outputs of a node with several: unpack them as a tuple or read them by name (`r.slope`)."""

    builder: WorkflowBuilder
    node_id: str | None
    _by_name: dict[str, Promise]

    def __new__(cls, builder: WorkflowBuilder, node_id: str, promises: dict[str, Promise]) -> NodeOutputs:
        self = super().__new__(cls, promises.values())
        self.builder = builder
        self.node_id = node_id
        self._by_name = promises
        return self

    def __getattr__(self, name: str) -> Promise:
        by_name = self.__dict__.get("_by_name", {})
        if name in by_name:
            return by_name[name]
        raise ValidationError(f"node [{self.node_id}] has no output [{name}]; its outputs are {list(by_name)}")


class VoidPromise(_Ordered):
    """What a call of a node without outputs returns: only good for `>>`."""

    __slots__ = ("builder", "node_id")

    def __init__(self, builder: WorkflowBuilder, node_id: str) -> None:
        self.builder = builder
        self.node_id = node_id

    def __repr__(self) -> str:
        return f"VoidPromise([{self.node_id}])"


class Condition:
    """A boolean expression over promises, for `conditional(...).if_(...)`; combine with `&` and `|`."""

    __slots__ = ("spec", "builder")

    def __init__(self, spec: dict[str, Any], builder: WorkflowBuilder) -> None:
        self.spec = spec
        self.builder = builder

    def __and__(self, other: Condition) -> Condition:
        return Condition({"and": [self.spec, _condition(other).spec]}, self.builder)

    def __or__(self, other: Condition) -> Condition:
        return Condition({"or": [self.spec, _condition(other).spec]}, self.builder)

    def __bool__(self) -> bool:
        raise ValidationError("a condition on promises has no value while the workflow is built, so Python's `if`, "
                              "`and` and `or` cannot use it; pass it to conditional(...).if_() and combine "
                              "conditions with `&` and `|`")


class Comparison(Condition):
    __slots__ = ()

    def __init__(self, op: str, left: Any, right: Any) -> None:
        builder = left.builder if isinstance(left, Promise) else right.builder
        super().__init__({"compare": {"op": op, "left": _operand(left), "right": _operand(right)}}, builder)


def _condition(value: Any) -> Condition:
    if not isinstance(value, Condition):
        raise ValidationError(f"expected a condition such as `x > 0` or `flag.is_true()`, got {value!r}")
    return value


def _operand(value: Any) -> dict[str, Any]:
    if isinstance(value, Promise):
        return value.binding()
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    try:
        return {"value": type_engine.to_json(value, type(value))}
    except SlipstreamError:
        raise ValidationError(
            f"cannot compare a promise with {value!r}: use numbers, strings, booleans or dates"
        ) from None
