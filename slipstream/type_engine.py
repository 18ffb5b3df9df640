"""Python types ↔ literal types of the IR, and Python values ↔ their readable JSON.

Converters are built once per Python type and cached, so a workflow that moves a value through many
nodes pays for the type inspection once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import math
import os
import types as _pytypes
import typing
from collections.abc import Callable
from typing import Any

from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream.files import Directory, File

SUPPORTED = ("int, float, str, bool, datetime, date, timedelta, list[T], dict[str, T], Optional[T], "
             "Enum, dataclasses, File, Directory")


@dataclasses.dataclass(frozen=True)
class Converter:
    literal_type: lt.LiteralType
    to_json: Callable[[Any], Any]
    from_json: Callable[[Any], Any]


def literal_type_of(py_type: Any) -> lt.LiteralType:
    return converter(py_type).literal_type


def to_json(value: Any, py_type: Any, where: str = "value") -> Any:
    """The JSON form of `value`; TypeMismatchError naming `where` if it does not fit `py_type`."""
    try:
        return converter(py_type).to_json(value)
    except _Mismatch as exc:
        raise TypeMismatchError(f"{where}: expected {describe(py_type)}, got {_short(value)}{exc.detail}") from None


def from_json(value: Any, py_type: Any) -> Any:
    return converter(py_type).from_json(value)


def describe(py_type: Any) -> str:
    return lt.describe(literal_type_of(py_type))


class _Mismatch(Exception):
    def __init__(self, detail: str = "") -> None:
        self.detail = detail


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _ensure(ok: bool) -> None:
    if not ok:
        raise _Mismatch()


def _identity(value: Any) -> Any:
    return value


def _int_to(value: Any) -> int:
    _ensure(isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63)
    return value


def _float_to(value: Any) -> float:
    _ensure(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
    return float(value)


def _str_to(value: Any) -> str:
    _ensure(isinstance(value, str))
    return value


def _bool_to(value: Any) -> bool:
    _ensure(isinstance(value, bool))
    return value


def _datetime_to(value: Any) -> str:
    """Aware datetimes in UTC, always with microseconds: the ISO strings then sort as the instants do, which
    is how conditions compare them locally and in Step Functions' Choice states."""
    _ensure(isinstance(value, dt.datetime))
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds")


def _date_to(value: Any) -> str:
    _ensure(isinstance(value, dt.date) and not isinstance(value, dt.datetime))
    return value.isoformat()


def _timedelta_to(value: Any) -> float:
    _ensure(isinstance(value, dt.timedelta))
    return value.total_seconds()


def _none_to(value: Any) -> None:
    _ensure(value is None)
    return None


_SIMPLE: dict[Any, Converter] = {
    int: Converter(lt.INTEGER, _int_to, _identity),
    float: Converter(lt.FLOAT, _float_to, float),
    str: Converter(lt.STRING, _str_to, _identity),
    bool: Converter(lt.BOOLEAN, _bool_to, _identity),
    dt.datetime: Converter(lt.DATETIME, _datetime_to, dt.datetime.fromisoformat),
    dt.date: Converter(lt.DATE, _date_to, dt.date.fromisoformat),
    dt.timedelta: Converter(lt.DURATION, _timedelta_to, lambda v: dt.timedelta(seconds=v)),
    type(None): Converter(lt.NONE, _none_to, _identity),
}


@functools.cache
def converter(py_type: Any) -> Converter:
    """The converter for `py_type`; ValidationError for types the IR cannot carry."""
    if py_type in _SIMPLE:
        return _SIMPLE[py_type]
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if origin is list and len(args) == 1:
        return _list_converter(converter(args[0]))
    if origin is dict and len(args) == 2:
        if args[0] is not str:
            raise ValidationError(f"dict keys must be str, not {args[0]!r}: JSON objects have string keys")
        return _dict_converter(converter(args[1]))
    if origin in (typing.Union, _pytypes.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return _optional_converter(converter(rest[0]))
        raise ValidationError(f"unsupported annotation [{py_type}]: only Optional[T] unions are supported")
    if isinstance(py_type, type):
        if issubclass(py_type, enum.Enum):
            return _enum_converter(py_type)
        if dataclasses.is_dataclass(py_type):
            return _dataclass_converter(py_type)
        if issubclass(py_type, (File, Directory)):
            return _blob_converter(py_type)
    raise ValidationError(f"unsupported annotation [{py_type!r}]; supported types are {SUPPORTED}")


def _list_converter(item: Converter) -> Converter:
    def to(value: Any) -> list[Any]:
        _ensure(isinstance(value, (list, tuple)))
        return [item.to_json(v) for v in value]

    return Converter(lt.list_of(item.literal_type), to, lambda v: [item.from_json(x) for x in v])


def _dict_converter(item: Converter) -> Converter:
    def to(value: Any) -> dict[str, Any]:
        _ensure(isinstance(value, dict) and all(isinstance(k, str) for k in value))
        return {k: item.to_json(v) for k, v in value.items()}

    return Converter(lt.map_of(item.literal_type), to, lambda v: {k: item.from_json(x) for k, x in v.items()})


def _optional_converter(inner: Converter) -> Converter:
    return Converter(
        lt.optional(inner.literal_type),
        lambda v: None if v is None else inner.to_json(v),
        lambda v: None if v is None else inner.from_json(v),
    )


def _enum_converter(cls: type[enum.Enum]) -> Converter:
    values = [member.value for member in cls]
    if not all(isinstance(v, str) for v in values):
        raise ValidationError(f"enum [{cls.__qualname__}] must have string values to be a task input or output")

    def to(value: Any) -> str:
        if isinstance(value, cls):
            return value.value
        if value in values:
            return value
        raise _Mismatch(f"; use one of {values}")

    return Converter({"enum": {"name": cls.__qualname__, "values": values}}, to, cls)


_BUILDING: set[type] = set()


def _dataclass_converter(cls: type) -> Converter:
    if cls in _BUILDING:
        raise ValidationError(f"dataclass [{cls.__qualname__}] contains itself; recursive types cannot be literals")
    _BUILDING.add(cls)
    try:
        hints = typing.get_type_hints(cls)
        fields = [(f.name, converter(hints[f.name])) for f in dataclasses.fields(cls)]
    finally:
        _BUILDING.discard(cls)
    with_default = {f.name for f in dataclasses.fields(cls)
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
    literal = {"struct": {
        "name": f"{cls.__module__}.{cls.__qualname__}",
        "fields": [{"name": name, "type": conv.literal_type, **({"required": False} if name in with_default else {})}
                   for name, conv in fields],
    }}

    def to(value: Any) -> dict[str, Any]:
        _ensure(isinstance(value, cls))
        return {name: conv.to_json(getattr(value, name)) for name, conv in fields}

    def from_(value: dict[str, Any]) -> Any:
        given = {name: conv.from_json(value[name]) for name, conv in fields if name in value}
        missing_optional = {name: None for name, conv in fields
                            if name not in value and name not in with_default and "optional" in conv.literal_type}
        return cls(**given, **missing_optional)

    return Converter(literal, to, from_)


def _blob_converter(cls: type[File] | type[Directory]) -> Converter:
    kind = "file" if issubclass(cls, File) else "directory"

    def to(value: Any) -> dict[str, str]:
        if isinstance(value, cls):
            uri = value.uri
        elif isinstance(value, (str, os.PathLike)):
            uri = os.fspath(value)
        else:
            raise _Mismatch()
        if "://" not in uri:
            uri = os.path.abspath(uri)
        return {"uri": uri}

    return Converter({"blob": kind}, to, lambda v: cls(v["uri"]))
