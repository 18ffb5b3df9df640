"""Python types ↔ literal types of the IR, and Python values ↔ their readable JSON.

Converters are built once per Python type and cached, so a workflow that moves a value through many
nodes pays for the type inspection once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import logging
import math
import os
import pickle
import sys
import tempfile
import types as _pytypes
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream.files import Directory, File

SUPPORTED = ("int, float, str, bool, datetime, date, timedelta, list[T], dict[str, T], dict, Optional[T], "
             "Union[...], Enum, dataclasses, File, Directory")


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
    if py_type is dict or origin is dict and len(args) in (0, 2):
        return _dict_of(args)
    if origin in (typing.Union, _pytypes.UnionType):
        rest = tuple(a for a in args if a is not type(None))
        inner = converter(rest[0]) if len(rest) == 1 else _union_converter(rest)
        return _optional_converter(inner) if len(rest) < len(args) else inner
    if isinstance(py_type, type):
        if issubclass(py_type, enum.Enum):
            return _enum_converter(py_type)
        if dataclasses.is_dataclass(py_type):
            return _struct_converter(py_type, _dataclass_fields)
        if _is_pydantic_model(py_type):
            return _struct_converter(py_type, _pydantic_fields)
        if issubclass(py_type, (File, Directory)):
            return _blob_converter(py_type)
    if _pickles(py_type, origin):
        return _pickle_converter(py_type, origin)
    raise ValidationError(f"unsupported annotation [{py_type!r}]; supported types are {SUPPORTED}")


def _dict_of(args: tuple[Any, ...]) -> Converter:
    """`dict[str, T]` as a map; a bare `dict` / `typing.Dict` as a JSON object (flytekit's untyped dict)."""
    if not args:
        return _JSON_OBJECT
    if args[0] is not str:
        raise ValidationError(f"dict keys must be str, not {args[0]!r}: JSON objects have string keys")
    return _dict_converter(converter(args[1]))


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


def _json_to(value: Any) -> Any:
    """A bare `dict` (or `typing.Dict`) as flytekit 1.16 carries it (a msgpack map of plain values): JSON
    values as they are, tuples as lists; other Python objects do not fit (flytekit fails them too, unless
    pickling is asked for). Keys must be strings, as JSON's are (msgpack would keep integer keys)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        _ensure(math.isfinite(value))
        return value
    if isinstance(value, (list, tuple)):
        return [_json_to(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _Mismatch("; an untyped dict's keys must be strings")
        return {k: _json_to(v) for k, v in value.items()}
    raise _Mismatch(f"; an untyped dict holds JSON values (str, int, float, bool, None, list, dict), not "
                    f"{type(value).__name__}")


def _json_object_to(value: Any) -> dict[str, Any]:
    _ensure(isinstance(value, dict))
    return _json_to(value)


_JSON_OBJECT = Converter(lt.JSON_OBJECT, _json_object_to, _identity)


def _optional_converter(inner: Converter) -> Converter:
    return Converter(
        lt.optional(inner.literal_type),
        lambda v: None if v is None else inner.to_json(v),
        lambda v: None if v is None else inner.from_json(v),
    )


def _union_converter(py_types: tuple[Any, ...]) -> Converter:
    """typing.Union as flytekit has it: a value takes the variant of its own Python type (else the one variant
    that accepts it) and is stored tagged; an untagged value (a plain output feeding a union input) must fit
    exactly one variant, else it is ambiguous."""
    variants = [converter(t) for t in py_types]
    tags = [lt.describe(c.literal_type) for c in variants]
    literal: lt.LiteralType = {"union": [c.literal_type for c in variants]}

    def to(value: Any) -> dict[str, Any]:
        exact = [i for i, t in enumerate(py_types) if type(value) is (typing.get_origin(t) or t)]
        found = []
        for i in exact or range(len(variants)):
            try:
                found.append((i, variants[i].to_json(value)))
            except _Mismatch:
                continue
        if len(found) != 1:
            raise _Mismatch(f"; it fits the variants {[tags[i] for i, _ in found]}: ambiguous" if found else "")
        i, json_value = found[0]
        return {"tag": tags[i], "value": json_value}

    def from_(value: Any) -> Any:
        variant, inner = lt.union_variant(literal, value)
        if variant is not None:
            return variants[literal["union"].index(variant)].from_json(inner)
        fits = [c for c in variants if _fits(c.literal_type, value)]
        if len(fits) != 1:
            raise TypeMismatchError(f"{_short(value)} fits {len(fits)} variants of {lt.describe(literal)}; "
                                    "a union value needs exactly one (pass it tagged: {\"tag\": ..., \"value\": ...})")
        return fits[0].from_json(value)

    return Converter(literal, to, from_)


def _fits(literal_type: lt.LiteralType, value: Any) -> bool:
    try:
        lt.validate_value(literal_type, value)
    except TypeMismatchError:
        return False
    return True


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


def _dataclass_fields(cls: type) -> list[tuple[str, Any, bool]]:
    hints = typing.get_type_hints(cls)
    return [(f.name, hints[f.name],
             f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
            for f in dataclasses.fields(cls)]


def _is_pydantic_model(cls: type) -> bool:
    pydantic = sys.modules.get("pydantic")  # only if the user's code imported it: never a dependency
    return pydantic is not None and hasattr(pydantic, "BaseModel") and issubclass(cls, pydantic.BaseModel)


def _pydantic_fields(cls: Any) -> list[tuple[str, Any, bool]]:
    """A pydantic v2 model travels as a dataclass does (a struct of its fields); flytekit accepts both."""
    return [(name, info.annotation, not info.is_required()) for name, info in cls.model_fields.items()]


def _struct_converter(cls: type, fields_of: Callable[[Any], list[tuple[str, Any, bool]]]) -> Converter:
    if cls in _BUILDING:
        raise ValidationError(f"dataclass [{cls.__qualname__}] contains itself; recursive types cannot be literals")
    _BUILDING.add(cls)
    try:
        declared = fields_of(cls)
        fields = [(name, converter(py_type)) for name, py_type, _ in declared]
    finally:
        _BUILDING.discard(cls)
    with_default = {name for name, _, has_default in declared if has_default}
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


def _pickles(py_type: Any, origin: Any) -> bool:
    """flytekit's fallback: any other class, generic of a class, or Any travels pickled; bare list and tuple
    stay refused (they lack the element types the IR needs), as in flytekit (a bare dict is a JSON object)."""
    if py_type is typing.Any:
        return True
    cls = origin if origin is not None else py_type
    return isinstance(cls, type) and not issubclass(cls, (list, dict, tuple))


def _pickle_converter(py_type: Any, origin: Any) -> Converter:
    """Values go into a content-addressed file under the temp folder; the IR carries its URI. Remotely the
    pod uploads it like a File, so only task code (never the control plane) unpickles it."""
    name = py_type.__module__ + "." + py_type.__qualname__ if isinstance(py_type, type) else repr(py_type)
    logging.getLogger("slipstream").warning(
        "Unsupported Type %s found, slipstream will default to use PickleFile as the transport. Pickle can only "
        "be used to send objects between the exact same version of Python, and we strongly recommend to use "
        "python type that slipstream supports.", py_type)
    cls = origin if origin is not None else py_type

    def to(value: Any) -> dict[str, str]:
        _ensure(py_type is typing.Any or isinstance(value, cls))
        data = pickle.dumps(value)
        folder = Path(tempfile.gettempdir()) / "slipstream-pickles"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.pkl"
        if not path.exists():
            staging = path.with_suffix(f".{os.getpid()}.tmp")
            staging.write_bytes(data)
            staging.replace(path)
        return {"uri": str(path)}

    def from_(value: dict[str, str]) -> Any:
        with open(value["uri"].removeprefix("file://"), "rb") as f:
            return pickle.load(f)  # the task's own value, written by the SDK; the control plane never opens it

    return Converter({"pickle": name}, to, from_)


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
