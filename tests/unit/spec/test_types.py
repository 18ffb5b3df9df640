"""Literal types of the IR: their shape, how they print, what may feed what, and the check of JSON values."""

from __future__ import annotations

import pytest

from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt

COLOR = {"enum": {"name": "Color", "values": ["red", "blue"]}}
POINT = {"struct": {"name": "geo.Point", "fields": [
    {"name": "x", "type": lt.FLOAT},
    {"name": "label", "type": lt.STRING, "required": False},
    {"name": "note", "type": lt.optional(lt.STRING)},
]}}


@pytest.mark.parametrize("t, text", [
    (lt.INTEGER, "int"), (lt.FLOAT, "float"), (lt.STRING, "str"), (lt.BOOLEAN, "bool"), (lt.DATETIME, "datetime"),
    (lt.DATE, "date"), (lt.DURATION, "timedelta"), (lt.NONE, "None"), (lt.list_of(lt.INTEGER), "list[int]"),
    (lt.map_of(lt.list_of(lt.FLOAT)), "dict[str, list[float]]"), (lt.optional(lt.STRING), "Optional[str]"),
    (COLOR, "Color"), (POINT, "geo.Point"), (lt.FILE, "File"), (lt.DIRECTORY, "Directory"),
])
def test_types_are_described_as_python_spells_them(t, text):
    lt.check_type(t)
    assert lt.describe(t) == text


def test_optional_of_optional_or_none_is_not_nested():
    assert lt.optional(lt.optional(lt.INTEGER)) == {"optional": lt.INTEGER}
    assert lt.optional(lt.NONE) == lt.NONE


@pytest.mark.parametrize("t, message", [
    ({"simple": "complex"}, r"in \[x\]: unknown simple type \[complex\]"),
    ({"tuple": lt.INTEGER}, r"unknown literal type kind \[tuple\]"),
    ({"list": {"simple": "bytes"}}, r"in \[x\].list: unknown simple type \[bytes\]"),
    ({"enum": {"name": "E", "values": []}}, "an enum needs a non-empty list of string values"),
    ({"enum": {"name": "E", "values": [1]}}, "an enum needs a non-empty list of string values"),
    ({"struct": {"name": "S"}}, "a struct needs a list of fields"),
    ({"struct": {"name": "S", "fields": [{"name": "f", "type": {"simple": "?"}}]}}, r"in \[x\]\.f: unknown simple"),
    ({"blob": "disk"}, r"blob must be 'file' or 'directory', not \[disk\]"),
    ({}, r"literal type \[\{\}\] must be an object with exactly one key"),
    ({"list": lt.INTEGER, "map": lt.INTEGER}, "exactly one key"),
    ("integer", "exactly one key"),
])
def test_malformed_types_are_refused_with_the_place(t, message):
    with pytest.raises(ValidationError, match=message):
        lt.check_type(t, "in [x]")


@pytest.mark.parametrize("source, target", [
    (lt.INTEGER, lt.INTEGER), (lt.INTEGER, lt.FLOAT), (lt.INTEGER, lt.optional(lt.INTEGER)),
    (lt.INTEGER, lt.optional(lt.FLOAT)), (lt.NONE, lt.optional(lt.STRING)),
    (lt.optional(lt.INTEGER), lt.optional(lt.FLOAT)),
    (lt.list_of(lt.INTEGER), lt.list_of(lt.FLOAT)), (lt.map_of(lt.INTEGER), lt.map_of(lt.optional(lt.FLOAT))),
    (lt.list_of(lt.INTEGER), lt.optional(lt.list_of(lt.FLOAT))), (COLOR, COLOR),
])
def test_assignable_as_flyte_allows(source, target):
    assert lt.is_assignable(source, target)


@pytest.mark.parametrize("source, target", [
    (lt.FLOAT, lt.INTEGER), (lt.optional(lt.INTEGER), lt.INTEGER), (lt.STRING, lt.list_of(lt.STRING)),
    (lt.list_of(lt.FLOAT), lt.list_of(lt.INTEGER)), (lt.list_of(lt.INTEGER), lt.map_of(lt.INTEGER)),
    (lt.BOOLEAN, lt.INTEGER), (lt.STRING, COLOR), (lt.NONE, lt.INTEGER), (lt.DATE, lt.DATETIME),
])
def test_not_assignable(source, target):
    assert not lt.is_assignable(source, target)


@pytest.mark.parametrize("t, value", [
    (lt.INTEGER, 3), (lt.INTEGER, -(2 ** 63)), (lt.FLOAT, 1.5), (lt.FLOAT, 2), (lt.STRING, ""), (lt.BOOLEAN, False),
    (lt.DATETIME, "2024-01-01T10:00:00+05:00"), (lt.DATETIME, "2024-01-01"), (lt.DATE, "2024-02-29"),
    (lt.DURATION, 1.5), (lt.DURATION, -3), (lt.NONE, None), (lt.optional(lt.INTEGER), None),
    (lt.optional(lt.INTEGER), 1), (lt.list_of(lt.map_of(lt.INTEGER)), [{"a": 1}, {}]), (COLOR, "red"),
    (POINT, {"x": 1.0}), (POINT, {"x": 1, "label": "a", "note": None}), (lt.FILE, {"uri": "s3://b/k"}),
    (lt.DIRECTORY, {"uri": "/tmp/d", "format": ""}),
])
def test_values_that_fit(t, value):
    lt.validate_value(t, value)


@pytest.mark.parametrize("t, value, message", [
    (lt.INTEGER, True, r"^in \[v\]: expected int, got True$"),
    (lt.INTEGER, 1.0, r"expected int, got 1.0"),
    (lt.FLOAT, float("nan"), r"expected float, got nan"),
    (lt.FLOAT, float("inf"), r"expected float, got inf"),
    (lt.FLOAT, "1.5", r"expected float, got '1.5'"),
    (lt.STRING, 1, r"expected str, got 1"),
    (lt.BOOLEAN, 0, r"expected bool, got 0"),
    (lt.DATETIME, "yesterday", r"expected datetime, got 'yesterday'"),
    (lt.DATE, "2024-01-01T00:00:00", r"expected date"),
    (lt.DATE, "2023-02-29", r"expected date"),
    (lt.DURATION, "PT1S", r"expected timedelta"),
    (lt.NONE, 0, r"expected None, got 0"),
    (lt.list_of(lt.INTEGER), [1, "a"], r"^in \[v\]\[1\]: expected int, got 'a'$"),
    (lt.list_of(lt.INTEGER), {"a": 1}, r"expected list\[int\]"),
    (lt.map_of(lt.INTEGER), {"k": "a"}, r"in \[v\]\['k'\]: expected int"),
    (lt.map_of(lt.INTEGER), [1], r"expected dict\[str, int\]"),
    (lt.optional(lt.INTEGER), "a", r"expected int, got 'a'"),
    (COLOR, "green", r"expected one of \['red', 'blue'\] \(Color\), got 'green'"),
    (POINT, {"x": 1, "z": 2}, r"geo.Point has no field \['z'\]; its fields are \['x', 'label', 'note'\]"),
    (POINT, {"label": "a"}, r"geo.Point needs field \[x\]"),
    (POINT, {"x": "one"}, r"in \[v\]\.x: expected float"),
    (POINT, [1.0], r"expected geo.Point"),
    (lt.FILE, "s3://b/k", r'expected File as \{"uri": "..."\}'),
    (lt.FILE, {"uri": "s3://b/k", "size": 1}, r"expected File"),
    (lt.INTEGER, "x" * 100, r"got 'x+\.\.\.$"),  # long values are cut short
])
def test_values_that_do_not_fit_name_the_place(t, value, message):
    with pytest.raises(TypeMismatchError, match=message):
        lt.validate_value(t, value, "in [v]")


def test_type_mismatch_is_a_validation_error():
    assert issubclass(TypeMismatchError, ValidationError)


def test_transform_blobs_reaches_every_file_and_leaves_the_rest():
    t = lt.map_of(lt.list_of(lt.optional({"struct": {"name": "S", "fields": [
        {"name": "f", "type": lt.FILE}, {"name": "n", "type": lt.INTEGER}]}})))
    value = {"a": [{"f": {"uri": "/local/1"}, "n": 1}, None], "b": []}
    seen = []

    def upload(kind, blob):
        seen.append(kind)
        return {"uri": "s3://bucket" + blob["uri"]}

    assert lt.transform_blobs(t, value, upload) == {"a": [{"f": {"uri": "s3://bucket/local/1"}, "n": 1}, None],
                                                    "b": []}
    assert seen == ["file"]
    assert value["a"][0]["f"] == {"uri": "/local/1"}  # the input is not changed in place
    assert lt.transform_blobs(lt.DIRECTORY, None, upload) is None
