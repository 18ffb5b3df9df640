"""Literal types of the IR and the check of JSON values against them.

A literal type is a small JSON object, one key naming its kind:

    {"simple": "integer" | "float" | "string" | "boolean" | "datetime" | "date" | "duration" | "none" | "struct"}
                       ("struct": a bare `dict`, any JSON object, as flytekit's untyped dict)
    {"list": T}        {"map": T}   (keys are strings)      {"optional": T}
    {"enum": {"name": "Color", "values": ["red", "green"]}}
    {"struct": {"name": "pkg.Point", "fields": [{"name": "x", "type": T, "required"?: false}, ...]}}
                       (a dataclass; a field with a default is not required)
    {"blob": "file" | "directory"}
    {"union": [T, T, ...]}     (typing.Union: two or more variants)
    {"pickle": "pkg.Class"}    (a Python type the IR cannot express, pickled into a file by the SDK; the
                                control plane moves its {"uri": ...} like a file and never opens it)

Values are readable JSON: numbers, strings, booleans, arrays, objects; datetimes and dates as ISO 8601
strings, durations as seconds, enums by value, blobs as {"uri": "..."}. A union's value is tagged with its
variant, {"tag": describe(variant), "value": ...}, as flytekit stores the variant; an untagged value fits a
union when it fits one of its variants (an output of a plain type feeding a union input).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from typing import Any

from chalicelib.errors import TypeMismatchError, ValidationError

LiteralType = dict[str, Any]

SIMPLE_KINDS = ("integer", "float", "string", "boolean", "datetime", "date", "duration", "none", "struct")
INTEGER: LiteralType = {"simple": "integer"}
FLOAT: LiteralType = {"simple": "float"}
STRING: LiteralType = {"simple": "string"}
BOOLEAN: LiteralType = {"simple": "boolean"}
DATETIME: LiteralType = {"simple": "datetime"}
DATE: LiteralType = {"simple": "date"}
DURATION: LiteralType = {"simple": "duration"}
NONE: LiteralType = {"simple": "none"}
JSON_OBJECT: LiteralType = {"simple": "struct"}
FILE: LiteralType = {"blob": "file"}
DIRECTORY: LiteralType = {"blob": "directory"}

_SIMPLE_NAMES = {
    "integer": "int", "float": "float", "string": "str", "boolean": "bool",
    "datetime": "datetime", "date": "date", "duration": "timedelta", "none": "None", "struct": "dict",
}


def list_of(item: LiteralType) -> LiteralType:
    return {"list": item}


def map_of(value: LiteralType) -> LiteralType:
    return {"map": value}


def optional(inner: LiteralType) -> LiteralType:
    return inner if "optional" in inner or inner == NONE else {"optional": inner}


def kind_of(t: LiteralType) -> str:
    if not isinstance(t, dict) or len(t) != 1:
        raise ValidationError(f"literal type [{t}] must be an object with exactly one key")
    return next(iter(t))


def describe(t: LiteralType) -> str:
    """A Python-like spelling of a type for messages: `list[int]`, `Optional[str]`, `Color`."""
    kind = kind_of(t)
    body = t[kind]
    if kind == "simple":
        return _SIMPLE_NAMES.get(body, str(body))
    if kind == "list":
        return f"list[{describe(body)}]"
    if kind == "map":
        return f"dict[str, {describe(body)}]"
    if kind == "optional":
        return f"Optional[{describe(body)}]"
    if kind in ("enum", "struct"):
        return str(body["name"])
    if kind == "blob":
        return "File" if body == "file" else "Directory"
    if kind == "union":
        return f"Union[{', '.join(describe(v) for v in body)}]"
    if kind == "pickle":
        return f"Pickle[{body}]"
    return str(t)


def union_variant(t: LiteralType, value: Any) -> tuple[LiteralType | None, Any]:
    """(variant, inner value) of a tagged union value; (None, value) if `value` is not tagged with a variant."""
    if isinstance(value, dict) and set(value) == {"tag", "value"}:
        for variant in t["union"]:
            if describe(variant) == value["tag"]:
                return variant, value["value"]
    return None, value


def check_type(t: Any, path: str = "type") -> None:
    """Raise ValidationError if `t` is not a well-formed literal type."""
    kind = kind_of(t)
    body = t[kind]
    if kind == "simple":
        if body not in SIMPLE_KINDS:
            raise ValidationError(f"{path}: unknown simple type [{body}]; use one of {', '.join(SIMPLE_KINDS)}")
    elif kind in ("list", "map", "optional"):
        check_type(body, f"{path}.{kind}")
    elif kind == "blob":
        if body not in ("file", "directory"):
            raise ValidationError(f"{path}: blob must be 'file' or 'directory', not [{body}]")
    elif kind in _COMPOSITE_CHECKS:
        _COMPOSITE_CHECKS[kind](body, path)
    else:
        raise ValidationError(f"{path}: unknown literal type kind [{kind}]")


def path_type(t: LiteralType, path: list[Any], where: str = "binding") -> LiteralType:
    """The type reached from a value of type `t` by an attribute path (flytekit's `box.width`, `xs[1]`,
    `d["k"]`): struct fields and map keys by name, list items by integer index."""
    for step in path:
        kind = kind_of(t)
        if kind == "struct" and isinstance(step, str):
            fields = {f["name"]: f["type"] for f in t["struct"]["fields"]}
            if step not in fields:
                raise ValidationError(f"{where}: {describe(t)} has no field [{step}]; its fields are {list(fields)}")
            t = fields[step]
        elif kind == "list" and isinstance(step, int) and not isinstance(step, bool):
            t = t["list"]
        elif kind == "map" and isinstance(step, str):
            t = t["map"]
        else:
            raise TypeMismatchError(f"{where}: cannot take [{step!r}] of {describe(t)}; paths read fields of "
                                    "dataclasses, integer indices of lists and string keys of dicts")
    return t


def _check_enum(body: Any, path: str) -> None:
    values = body.get("values") if isinstance(body, dict) else None
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValidationError(f"{path}: an enum needs a non-empty list of string values")


def _check_struct(body: Any, path: str) -> None:
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, list):
        raise ValidationError(f"{path}: a struct needs a list of fields")
    for field in fields:
        check_type(field.get("type"), f"{path}.{field.get('name')}")


def _check_union(body: Any, path: str) -> None:
    if not isinstance(body, list) or len(body) < 2:
        raise ValidationError(f"{path}: a union needs a list of two or more variants")
    for i, variant in enumerate(body):
        check_type(variant, f"{path}.union[{i}]")


def _check_pickle(body: Any, path: str) -> None:
    if not isinstance(body, str) or not body:
        raise ValidationError(f"{path}: a pickle type needs the Python type's name")


_COMPOSITE_CHECKS: dict[str, Callable[[Any, str], None]] = {
    "enum": _check_enum, "struct": _check_struct, "union": _check_union, "pickle": _check_pickle,
}


def is_assignable(source: LiteralType, target: LiteralType) -> bool:
    """Can a value of type `source` feed an input of type `target`?"""
    if source == target:
        return True
    t_kind, s_kind = kind_of(target), kind_of(source)
    if t_kind == "optional":
        inner = target["optional"]
        if source == NONE:
            return True
        return is_assignable(source["optional"] if s_kind == "optional" else source, inner)
    if source == INTEGER and target == FLOAT:
        return True
    if s_kind == "union":  # every variant the source may hold must fit the target
        return all(is_assignable(variant, target) for variant in source["union"])
    if t_kind == "union":
        return any(is_assignable(source, variant) for variant in target["union"])
    if s_kind == t_kind and s_kind in ("list", "map"):
        return is_assignable(source[s_kind], target[t_kind])
    return False


def _fail(path: str, t: LiteralType, value: Any) -> TypeMismatchError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return TypeMismatchError(f"{path}: expected {describe(t)}, got {shown}")


def validate_value(t: LiteralType, value: Any, path: str = "value") -> None:
    """Raise TypeMismatchError naming `path` if the JSON `value` does not fit `t`."""
    kind = kind_of(t)
    _VALIDATORS[kind](t[kind], t, value, path)


def _validate_optional(body: LiteralType, t: LiteralType, value: Any, path: str) -> None:
    if value is not None:
        validate_value(body, value, path)


def _validate_list(body: LiteralType, t: LiteralType, value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise _fail(path, t, value)
    for i, item in enumerate(value):
        validate_value(body, item, f"{path}[{i}]")


def _validate_map(body: LiteralType, t: LiteralType, value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, t, value)
    for key, item in value.items():
        validate_value(body, item, f"{path}[{key!r}]")


def _validate_enum(body: dict[str, Any], t: LiteralType, value: Any, path: str) -> None:
    if value not in body["values"]:
        raise TypeMismatchError(f"{path}: expected one of {body['values']} ({body['name']}), got {value!r}")


def _validate_blob(body: str, t: LiteralType, value: Any, path: str) -> None:
    if not (isinstance(value, dict) and isinstance(value.get("uri"), str) and set(value) <= {"uri", "format"}):
        raise TypeMismatchError(f"{path}: expected {describe(t)} as {{\"uri\": \"...\"}}, got {value!r}")


def _validate_simple(kind: str, t: LiteralType, value: Any, path: str) -> None:
    ok: bool
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    elif kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "duration":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif kind == "none":
        ok = value is None
    elif kind == "struct":
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, str) and _parses(kind, value)
    if not ok:
        raise _fail(path, t, value)


def _parses(kind: str, value: str) -> bool:
    try:
        if kind == "datetime":
            _dt.datetime.fromisoformat(value)
        else:
            _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _validate_struct(body: dict[str, Any], t: LiteralType, value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _fail(path, t, value)
    names = [f["name"] for f in body["fields"]]
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise TypeMismatchError(f"{path}: {body['name']} has no field {unknown}; its fields are {names}")
    for field in body["fields"]:
        if field["name"] not in value and (field.get("required") is False or "optional" in field["type"]):
            continue
        if field["name"] not in value:
            raise TypeMismatchError(f"{path}: {body['name']} needs field [{field['name']}]")
        validate_value(field["type"], value[field["name"]], f"{path}.{field['name']}")


def _validate_union(body: list[LiteralType], t: LiteralType, value: Any, path: str) -> None:
    variant, inner = union_variant(t, value)
    if variant is not None:
        validate_value(variant, inner, f"{path}<{describe(variant)}>")
        return
    for variant in body:
        try:
            validate_value(variant, value, path)
            return
        except TypeMismatchError:
            continue
    raise _fail(path, t, value)


_VALIDATORS: dict[str, Callable[[Any, LiteralType, Any, str], None]] = {
    "simple": _validate_simple,
    "optional": _validate_optional,
    "list": _validate_list,
    "map": _validate_map,
    "enum": _validate_enum,
    "struct": _validate_struct,
    "blob": _validate_blob,
    "union": _validate_union,
    "pickle": _validate_blob,
}


def transform_blobs(t: LiteralType, value: Any, fn: Any) -> Any:
    """`value` with every File/Directory literal replaced by `fn(kind, blob)`: how the entrypoint swaps
    local paths and S3 URIs at a task's edges."""
    if value is None:
        return None
    kind = kind_of(t)
    body = t[kind]
    if kind == "blob":
        return fn(body, value)
    if kind == "pickle":  # a file whose bytes only the SDK reads
        return fn("file", value)
    if kind == "optional":
        return transform_blobs(body, value, fn)
    if kind == "list":
        return [transform_blobs(body, v, fn) for v in value]
    if kind == "map":
        return {k: transform_blobs(body, v, fn) for k, v in value.items()}
    if kind == "struct":
        types = {f["name"]: f["type"] for f in body["fields"]}
        return {k: transform_blobs(types[k], v, fn) if k in types else v for k, v in value.items()}
    if kind == "union":
        variant, inner = union_variant(t, value)
        return value if variant is None else {"tag": value["tag"], "value": transform_blobs(variant, inner, fn)}
    return value
