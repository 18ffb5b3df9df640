"""The type engine: Python types to literal types, Python values to readable JSON and back. Every
supported type round-trips, and the JSON it writes fits the literal type it declares."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing
from typing import Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream import Directory, File
from slipstream.type_engine import converter, describe, from_json, literal_type_of, to_json


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.StrEnum):
    S = "s"
    M = "m"


class Number(enum.Enum):
    ONE = 1


@dataclasses.dataclass
class Inner:
    n: int
    tags: dict[str, list[float]]


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    items: list[Inner]
    when: dt.datetime
    color: Optional[Color] = None
    size: Size = Size.S
    extra: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Sparse:
    a: int
    b: Optional[int]


@dataclasses.dataclass
class Tree:
    value: int
    children: list[Tree]


finite = st.floats(allow_nan=False, allow_infinity=False)
offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
datetimes = st.datetimes() | st.datetimes(timezones=offsets)
# durations as seconds: exact to the microsecond while |seconds| < 2**53 µs (about 285 years)
timedeltas = st.timedeltas(min_value=dt.timedelta(days=-36500), max_value=dt.timedelta(days=36500))
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
inner = st.builds(Inner, n=int64, tags=st.dictionaries(st.text(), st.lists(finite, max_size=3), max_size=3))
outer = st.builds(Outer, name=st.text(), inner=inner, items=st.lists(inner, max_size=3), when=datetimes,
                  color=st.none() | st.sampled_from(Color), size=st.sampled_from(Size),
                  extra=st.lists(int64, max_size=3))

CASES = [
    (int, int64),
    (float, finite),
    (str, st.text()),
    (bool, st.booleans()),
    (dt.datetime, datetimes),
    (dt.date, st.dates()),
    (dt.timedelta, timedeltas),
    (list[int], st.lists(int64)),
    (typing.List[str], st.lists(st.text())),
    (dict[str, str], st.dictionaries(st.text(), st.text())),
    (dict[str, list[dt.date]], st.dictionaries(st.text(), st.lists(st.dates(), max_size=3), max_size=3)),
    (Optional[int], st.none() | int64),
    (int | None, st.none() | int64),
    (Optional[list[Optional[str]]], st.none() | st.lists(st.none() | st.text())),
    (Color, st.sampled_from(Color)),
    (Size, st.sampled_from(Size)),
    (Inner, inner),
    (Outer, outer),
    (list[dict[str, Optional[float]]], st.lists(st.dictionaries(st.text(), st.none() | finite, max_size=3))),
    (Optional[Outer], st.none() | outer),
]


@pytest.mark.parametrize("py_type, strategy", CASES, ids=[str(c[0]) for c in CASES])
def test_every_supported_type_round_trips_and_its_json_fits_its_literal_type(py_type, strategy):
    literal_type = literal_type_of(py_type)
    lt.check_type(literal_type)

    @given(strategy)
    def check(value):
        literal = to_json(value, py_type)
        lt.validate_value(literal_type, literal)
        assert from_json(literal, py_type) == value

    check()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_refused_as_json_cannot_carry_them(value):
    # validate_value and canonical_json refuse them; a task returning inf must not succeed with it
    with pytest.raises(TypeMismatchError, match=r"output \[o0\]: expected float"):
        to_json(value, float, "output [o0]")


@pytest.mark.parametrize("py_type, literal_type", [
    (int, {"simple": "integer"}), (float, {"simple": "float"}), (str, {"simple": "string"}),
    (bool, {"simple": "boolean"}), (dt.datetime, {"simple": "datetime"}), (dt.date, {"simple": "date"}),
    (dt.timedelta, {"simple": "duration"}), (type(None), {"simple": "none"}),
    (list[int], {"list": {"simple": "integer"}}), (dict[str, float], {"map": {"simple": "float"}}),
    (Optional[str], {"optional": {"simple": "string"}}), (Optional[Optional[str]], {"optional": {"simple": "string"}}),
    (typing.Union[None, int], {"optional": {"simple": "integer"}}),
    (Color, {"enum": {"name": "Color", "values": ["red", "blue"]}}),
    (File, {"blob": "file"}), (Directory, {"blob": "directory"}),
])
def test_literal_types_of_python_types(py_type, literal_type):
    assert literal_type_of(py_type) == literal_type


def test_a_dataclass_is_a_struct_whose_defaulted_fields_are_not_required():
    fields = literal_type_of(Outer)["struct"]["fields"]
    assert literal_type_of(Outer)["struct"]["name"] == "tests.unit.sdk.test_type_engine.Outer"
    assert [(f["name"], f.get("required", True)) for f in fields] == [
        ("name", True), ("inner", True), ("items", True), ("when", True), ("color", False), ("size", False),
        ("extra", False)]
    assert fields[1]["type"] == literal_type_of(Inner)
    assert describe(Outer) == "tests.unit.sdk.test_type_engine.Outer"
    assert describe(Optional[list[int]]) == "Optional[list[int]]"


def test_converters_are_built_once_per_type():
    assert converter(list[Outer]) is converter(list[Outer])


def test_json_forms_are_readable():
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert to_json(when, dt.datetime) == "2024-01-02T03:04:05.000000+00:00"  # UTC, fixed width: sorts by time
    assert to_json(dt.date(2024, 1, 2), dt.date) == "2024-01-02"
    assert to_json(dt.timedelta(minutes=1, milliseconds=500), dt.timedelta) == 60.5
    assert to_json(Color.RED, Color) == "red"
    assert to_json("blue", Color) == "blue"  # the value itself is accepted too
    assert to_json((1, 2), list[int]) == [1, 2]
    assert to_json(3, float) == 3.0 and isinstance(to_json(3, float), float)
    assert to_json(Sparse(1, None), Sparse) == {"a": 1, "b": None}


def test_a_struct_value_may_leave_out_a_field_with_a_default():
    assert from_json({"name": "n", "inner": {"n": 1, "tags": {}}, "items": [], "when": "2024-01-01T00:00:00"},
                     Outer) == Outer("n", Inner(1, {}), [], dt.datetime(2024, 1, 1))


def test_a_struct_value_the_ir_accepts_without_an_optional_field_can_be_read():
    # validate_value lets an Optional field be left out (a caller's JSON input may do so), so from_json must
    # read such a value too, not fail with the dataclass's own TypeError
    lt.validate_value(literal_type_of(Sparse), {"a": 1})
    assert from_json({"a": 1}, Sparse) == Sparse(1, None)


def test_files_and_directories_travel_as_uris(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("x")
    assert to_json(File(path), File) == {"uri": str(path)}
    assert to_json(str(path), File) == {"uri": str(path)}
    assert to_json(path, File) == {"uri": str(path)}
    assert to_json("s3://bucket/key", File) == {"uri": "s3://bucket/key"}
    monkeypatch.chdir(tmp_path)
    assert to_json("a.txt", File) == {"uri": str(path)}  # relative paths are made absolute
    assert from_json({"uri": "s3://b/k"}, Directory) == Directory("s3://b/k")
    assert File("file:///tmp/x").path == "/tmp/x"
    lt.validate_value(literal_type_of(File), to_json(File(path), File))


@pytest.mark.parametrize("value, py_type, message", [
    ("x", int, r"^input \[v\]: expected int, got 'x'$"),
    (True, int, r"expected int, got True"),
    (1.5, int, r"expected int, got 1\.5"),
    (True, float, r"expected float, got True"),
    (1, str, r"expected str, got 1"),
    (1, bool, r"expected bool, got 1"),
    ([1, "a"], list[int], r"expected list\[int\], got \[1, 'a'\]"),
    ("ab", list[str], r"expected list\[str\], got 'ab'"),
    ({1: "a"}, dict[str, str], r"expected dict\[str, str\]"),
    ("green", Color, r"expected Color, got 'green'; use one of \['red', 'blue'\]"),
    (dt.date(2020, 1, 1), dt.datetime, r"expected datetime, got datetime\.date"),
    (dt.datetime(2020, 1, 1), dt.date, r"expected date, got datetime\.datetime"),
    (60, dt.timedelta, r"expected timedelta, got 60"),
    ({"n": 1, "tags": {}}, Inner, r"expected tests\.unit\.sdk\.test_type_engine\.Inner"),
    (0, type(None), r"expected None, got 0"),
    (1, File, r"expected File, got 1"),
    ("x" * 100, int, r"got 'x+\.\.\.$"),
])
def test_values_that_do_not_fit_are_refused_naming_the_place(value, py_type, message):
    with pytest.raises(TypeMismatchError, match=message):
        to_json(value, py_type, "input [v]")


@pytest.mark.parametrize("py_type, message", [
    (tuple, r"unsupported annotation \[<class 'tuple'>\]; supported types are int, float, str"),
    (tuple[int, str], r"unsupported annotation \[tuple\[int, str\]\]"),
    (list, r"unsupported annotation \[<class 'list'>\]"),
    (dict[int, str], r"dict keys must be str, not <class 'int'>"),
    (list[tuple], r"unsupported annotation \[<class 'tuple'>\]"),
    (typing.TypeVar("T"), r"unsupported annotation \[~T\]"),
    (Number, r"enum \[Number\] must have string values"),
])
def test_unsupported_types_are_named(py_type, message):
    with pytest.raises(ValidationError, match=message):
        literal_type_of(py_type)


def test_a_recursive_dataclass_is_refused_as_unsupported():
    # the IR's struct types cannot refer to themselves; the converter must say so, not recurse without end
    with pytest.raises(ValidationError, match=r"Tree"):
        literal_type_of(Tree)
