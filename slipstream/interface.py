"""A task's or workflow's typed interface, read from its Python signature."""

from __future__ import annotations

import collections
import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable

from chalicelib.errors import ValidationError
from slipstream import type_engine

_NO_DEFAULT = inspect.Parameter.empty


@dataclass(frozen=True)
class Interface:
    inputs: dict[str, Any]  # name → Python type, in signature order
    defaults: dict[str, Any]  # name → Python default
    outputs: dict[str, Any]  # name → Python type: o0, o1, … or a NamedTuple's fields
    output_tuple: type | None  # the NamedTuple class to rebuild multiple outputs with, if declared

    def to_spec(self, owner: str) -> dict[str, list[dict[str, Any]]]:
        inputs = []
        for name, py_type in self.inputs.items():
            var: dict[str, Any] = {"name": name, "type": type_engine.literal_type_of(py_type)}
            if name in self.defaults:
                var["default"] = type_engine.to_json(self.defaults[name], py_type, f"{owner} default of [{name}]")
            inputs.append(var)
        outputs = [{"name": n, "type": type_engine.literal_type_of(t)} for n, t in self.outputs.items()]
        return {"inputs": inputs, "outputs": outputs}

    def pack_outputs(self, values: dict[str, Any]) -> Any:
        """Python values of the outputs as a caller gets them: None, one value, a tuple or a NamedTuple."""
        if not self.outputs:
            return None
        ordered = [values[name] for name in self.outputs]
        if self.output_tuple is not None:
            return self.output_tuple(*ordered)
        return ordered[0] if len(ordered) == 1 else _default_tuple(tuple(self.outputs))(*ordered)

    def unpack_outputs(self, result: Any, owner: str) -> dict[str, Any]:
        """The returned value of a function, by output name."""
        names = list(self.outputs)
        if not names:
            return {}
        if len(names) == 1:
            if self.output_tuple is not None and isinstance(result, tuple) and len(result) == 1:
                return {names[0]: result[0]}  # a one-field NamedTuple, returned whole (flytekit allows both)
            return {names[0]: result}
        if not isinstance(result, tuple) or len(result) != len(names):
            raise ValidationError(f"{owner} must return {len(names)} values ({', '.join(names)}), got {result!r}")
        return dict(zip(names, result, strict=True))


@functools.cache
def _default_tuple(names: tuple[str, ...]) -> type:
    """flytekit's DefaultNamedTupleOutput: several unnamed outputs come back as a tuple that also reads `.o0`."""
    return collections.namedtuple("DefaultNamedTupleOutput", names)  # type: ignore[misc]


def is_named_tuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def extract_interface(fn: Callable[..., Any], owner: str) -> Interface:
    """Read inputs and outputs from `fn`'s annotations; ValidationError naming the parameter if one is missing
    or of a type the IR cannot carry."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # an annotation that does not resolve (NameError, TypeError)
        raise ValidationError(f"{owner}: cannot read its type annotations ({exc}); import the types it uses") from exc
    inputs: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ValidationError(f"{owner}: parameter [{name}] must be a plain named parameter "
                                  "(no *args, **kwargs or /)")
        if name not in hints:
            raise ValidationError(f"{owner}: input [{name}] has no type annotation; add one, e.g. {name}: int")
        _check_type(owner, f"input [{name}]", hints[name])
        inputs[name] = hints[name]
        if param.default is not _NO_DEFAULT:
            defaults[name] = param.default
    outputs, output_tuple = _outputs(owner, hints.get("return", None))
    return Interface(inputs, defaults, outputs, output_tuple)


def kwtypes(**names: Any) -> dict[str, Any]:
    """flytekit's `kwtypes(x=int, y=File)`: names and types, in order, for tasks declared without a function
    (ShellTask's inputs)."""
    return dict(names)


def declared_interface(owner: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> Interface:
    """The interface of a task declared by name → type maps rather than a signature; outputs keep their names
    (several come back as a tuple that also reads `.name`)."""
    for what, types in (("input", inputs), ("output", outputs)):
        for name, py_type in types.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValidationError(f"{owner}: {what} name [{name!r}] must be a Python identifier")
            _check_type(owner, f"{what} [{name}]", py_type)
    return Interface(dict(inputs), {}, dict(outputs), None)


def _outputs(owner: str, ret: Any) -> tuple[dict[str, Any], type | None]:
    if ret is None or ret is type(None):
        return {}, None
    if is_named_tuple(ret):
        fields = typing.get_type_hints(ret)
        for name in ret._fields:
            _check_type(owner, f"output [{name}]", fields[name])
        return {name: fields[name] for name in ret._fields}, ret
    if typing.get_origin(ret) is tuple or isinstance(ret, tuple):  # tuple[int, str], Tuple[...] or (int, str)
        args = ret if isinstance(ret, tuple) else typing.get_args(ret)
        if not args or args[-1] is Ellipsis:
            raise ValidationError(f"{owner}: return type [{ret}] must list each element's type, e.g. tuple[int, str]")
        if len(args) == 1:
            one = getattr(args[0], "__name__", args[0])
            raise ValidationError(f"{owner}: return type [{ret}] is a tuple of one value; tuples declare several "
                                  f"outputs, so declare the one output's type, e.g. -> {one}")
        for i, arg in enumerate(args):
            _check_type(owner, f"output [o{i}]", arg)
        return {f"o{i}": arg for i, arg in enumerate(args)}, None
    _check_type(owner, "output [o0]", ret)
    return {"o0": ret}, None


def _check_type(owner: str, what: str, py_type: Any) -> None:
    try:
        type_engine.converter(py_type)
    except ValidationError as exc:
        raise ValidationError(f"{owner}: {what}: {exc}") from None
