"""Click options built from an interface: one `--name` per input, typed like the input."""

from __future__ import annotations

import datetime as dt
import enum
import json
import typing
from typing import Any

import click

from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream import type_engine
from slipstream.files import Directory, File


class JsonValue(click.ParamType):
    """A value given as JSON (lists, dicts, dataclasses), checked against the input's type."""

    name = "json"

    def __init__(self, py_type: Any) -> None:
        self.py_type = py_type
        self.name = type_engine.describe(py_type)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            data = json.loads(value)
            lt.validate_value(type_engine.literal_type_of(self.py_type), data, param.name if param else "value")
        except json.JSONDecodeError as exc:
            self.fail(f"{value!r} is not valid JSON ({exc.msg}); e.g. '[1, 2]' or '{{\"k\": 1}}'", param, ctx)
        except (TypeMismatchError, ValidationError) as exc:
            self.fail(str(exc), param, ctx)
        return type_engine.from_json(data, self.py_type)


class IsoValue(click.ParamType):
    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        self.name = py_type.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.py_type):
            return value
        try:
            if self.py_type is dt.timedelta:
                return dt.timedelta(seconds=float(value))
            return self.py_type.fromisoformat(value)  # type: ignore[attr-defined]
        except ValueError:
            hint = "seconds, e.g. 90" if self.py_type is dt.timedelta else "ISO 8601, e.g. 2024-01-31T12:00:00"
            self.fail(f"{value!r} is not a {self.name}; use {hint}", param, ctx)


class BlobValue(click.ParamType):
    def __init__(self, py_type: type[File] | type[Directory]) -> None:
        self.py_type = py_type
        self.name = py_type.__name__

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.py_type):
            return value
        path = click.Path(exists=True, file_okay=self.py_type is File, dir_okay=self.py_type is Directory)
        return self.py_type(path.convert(value, param, ctx))


def param_type(py_type: Any) -> click.ParamType:
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if origin is typing.Union or (origin is not None and type(None) in args):
        inner = [a for a in args if a is not type(None)]
        return param_type(inner[0]) if len(inner) == 1 else _UnionValue(inner)
    simple = {int: click.INT, float: click.FLOAT, str: click.STRING, bool: click.BOOL}
    if py_type in simple:
        return simple[py_type]
    if py_type in (dt.datetime, dt.date, dt.timedelta):
        return IsoValue(py_type)
    if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
        return _EnumChoice(py_type)
    if isinstance(py_type, type) and issubclass(py_type, (File, Directory)):
        return BlobValue(py_type)
    return JsonValue(py_type)


class _UnionValue(click.ParamType):
    """A Union input: the first variant that parses the text wins, str last (as pyflyte does)."""

    def __init__(self, variants: list[Any]) -> None:
        ordered = sorted(variants, key=lambda t: t is str)
        self.types = [param_type(t) for t in ordered]
        self.name = " | ".join(t.name for t in self.types)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        for variant in self.types:
            try:
                return variant.convert(value, param, ctx)
            except click.BadParameter:
                continue
        self.fail(f"{value!r} is none of {self.name}", param, ctx)


class _EnumChoice(click.Choice):
    def __init__(self, enum_type: type[enum.Enum]) -> None:
        super().__init__([m.value for m in enum_type])
        self.enum_type = enum_type

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.enum_type):
            return value
        return self.enum_type(super().convert(value, param, ctx))


def options_for(
    inputs: dict[str, Any], defaults: dict[str, Any], fixed: frozenset[str] = frozenset()
) -> list[click.Option]:
    """One option per input not fixed by a launch plan; required unless it has a default or is Optional."""
    options = []
    for name, py_type in inputs.items():
        if name in fixed:
            continue
        extra: dict[str, Any] = {}
        if name in defaults:  # click treats an explicit default=None as a default: pass one only if there is one
            default = defaults[name]
            extra = {"default": default, "show_default": default is not None}
        optional = "optional" in type_engine.literal_type_of(py_type)
        options.append(click.Option([f"--{name}"], type=param_type(py_type), required=not (extra or optional),
                                    help=type_engine.describe(py_type), **extra))
    return options
