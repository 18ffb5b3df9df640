"""Every type round-trips through its JSON literal, and the literal fits the IR's literal type."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.spec import types as lt
from slipstream import Directory, File, TypeMismatchError, ValidationError
from slipstream.type_engine import from_json, literal_type_of, to_json


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Inner:
    n: int
    tags: dict[str, list[float]]


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    items: list[Inner]
    color: Optional[Color] = None


finite = st.floats(allow_nan=False, allow_infinity=False)
inner = st.builds(Inner, n=st.integers(), tags=st.dictionaries(st.text(), st.lists(finite, max_size=3), max_size=3))
CASES = [
    (int, st.integers()),
    (float, finite),
    (str, st.text()),
    (bool, st.booleans()),
    (dt.datetime, st.datetimes()),
    (dt.date, st.dates()),
    (dt.timedelta, st.timedeltas(min_value=dt.timedelta(days=-1000), max_value=dt.timedelta(days=1000)).map(
        lambda d: dt.timedelta(seconds=round(d.total_seconds(), 3)))),
    (list[int], st.lists(st.integers())),
    (dict[str, str], st.dictionaries(st.text(), st.text())),
    (Optional[int], st.none() | st.integers()),
    (Color, st.sampled_from(Color)),
    (Outer, st.builds(Outer, name=st.text(), inner=inner, items=st.lists(inner, max_size=3),
                      color=st.none() | st.sampled_from(Color))),
    (list[dict[str, Optional[float]]], st.lists(st.dictionaries(st.text(), st.none() | finite, max_size=3))),
]


@pytest.mark.parametrize("py_type, strategy", CASES, ids=[str(c[0]) for c in CASES])
def test_round_trip_and_literal_fits_its_type(py_type, strategy):
    @settings(max_examples=40, deadline=None)
    @given(strategy)
    def check(value):
        literal = to_json(value, py_type)
        lt.validate_value(literal_type_of(py_type), literal)
        assert from_json(literal, py_type) == value

    check()


def test_files_and_directories_travel_as_uris(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x")
    assert to_json(File(path), File) == {"uri": str(path)}
    assert from_json({"uri": "s3://b/k"}, Directory) == Directory("s3://b/k")
    lt.validate_value(literal_type_of(File), {"uri": "s3://b/k"})


@pytest.mark.parametrize("value, py_type, message", [
    ("x", int, "expected int, got 'x'"),
    (True, int, "expected int, got True"),
    (1.5, int, "expected int"),
    ([1, "a"], list[int], r"expected list\[int\], got \[1, 'a'\]"),
    ({1: "a"}, dict[str, str], "expected dict"),
    ("green", Color, r"use one of \['red', 'blue'\]"),
    (dt.date(2020, 1, 1), dt.datetime, "expected datetime"),
])
def test_values_that_do_not_fit_are_refused_with_the_place(value, py_type, message):
    with pytest.raises(TypeMismatchError, match=message):
        to_json(value, py_type, "input [v]")


@pytest.mark.parametrize("py_type", [set, dict[int, str], int | str, tuple, bytes])
def test_unsupported_types_are_named(py_type):
    with pytest.raises(ValidationError, match="supported|dict keys must be str"):
        literal_type_of(py_type)


def test_literal_types_are_assignable_as_flyte_allows():
    assert lt.is_assignable(lt.INTEGER, lt.FLOAT)
    assert lt.is_assignable(lt.INTEGER, lt.optional(lt.INTEGER))
    assert lt.is_assignable(lt.NONE, lt.optional(lt.STRING))
    assert lt.is_assignable(lt.list_of(lt.INTEGER), lt.list_of(lt.FLOAT))
    assert not lt.is_assignable(lt.FLOAT, lt.INTEGER)
    assert not lt.is_assignable(lt.optional(lt.INTEGER), lt.INTEGER)
    assert not lt.is_assignable(lt.STRING, lt.list_of(lt.STRING))
