"""Conditionals over every operator and every comparable type, run locally and remotely by
tests/e2e/test_conditionals_remote.py. Each `*_ops` workflow evaluates the six operators on one pair of
operands, one conditional per operator, and returns "T" or "F" for each, in the order ==, !=, <, <=, >, >=:
one execution checks them all, and a removed `Not` or a swapped operator changes a letter."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from slipstream import conditional, task, workflow

Six = tuple[str, str, str, str, str, str]
DAY = dt.date(2024, 2, 29)
NOON = dt.timedelta(hours=12)


LABELS = ("T", "F", "both", "one", "none", "positive", "negative", "retake", "A", "B", "C", "D", "go", "stop")


@task(cache=True, cache_version="1")
def label(text: str) -> str:
    """Cached: once `warm` has run, every branch's task is answered from the cache without a process, so the
    many executions below exercise Choice states, not process start-up."""
    return text


@task(cache=True, cache_version="1")
def shout(text: str) -> str:
    return text.upper()


@workflow
def warm() -> list[str]:
    return [label(text=text) for text in LABELS] + [shout(text="go"), shout(text="stop")]


def _bit(name: str, condition: Any) -> Any:
    return conditional(name).if_(condition).then(label(text="T")).else_().then(label(text="F"))


def _six(a: Any, b: Any) -> Six:
    return (_bit("eq", a == b), _bit("ne", a != b), _bit("lt", a < b), _bit("le", a <= b), _bit("gt", a > b),
            _bit("ge", a >= b))


@workflow
def int_ops(x: int) -> Six:
    """An input against a constant."""
    return _six(x, 5)


@workflow
def float_ops(a: float, b: float) -> Six:
    """Two inputs against each other."""
    return _six(a, b)


@workflow
def mixed_ops(x: int) -> Six:
    """An int input against a float constant: compared as numbers."""
    return _six(x, 2.5)


@workflow
def str_ops(s: str) -> Six:
    return _six(s, "mango")


@workflow
def bool_ops(a: bool, b: bool) -> Six:
    """Booleans order as Python's do: False < True."""
    return _six(a, b)


@workflow
def bool_const_ops(a: bool) -> Six:
    return _six(a, True)


@workflow
def date_ops(d: dt.date) -> Six:
    return _six(d, DAY)


@workflow
def datetime_ops(a: dt.datetime, b: dt.datetime) -> Six:
    return _six(a, b)


@workflow
def duration_ops(t: dt.timedelta) -> Six:
    return _six(t, NOON)


@workflow
def reversed_ops(x: int) -> Six:
    """The constant on the left: Python turns `5 < x` into `x > 5`."""
    return (_bit("eq", 5 == x), _bit("ne", 5 != x), _bit("lt", 5 < x),  # noqa: SIM300
            _bit("le", 5 <= x), _bit("gt", 5 > x), _bit("ge", 5 >= x))  # noqa: SIM300


@workflow
def none_ops(x: Optional[int] = None) -> tuple[str, str, str]:
    """`is_none()`, `== None` and `!= None` on an optional input."""
    return _bit("is_none", x.is_none()), _bit("eq_none", x == None), _bit("ne_none", x != None)  # noqa: E711


@workflow
def optional_pair(x: Optional[int] = None, y: Optional[int] = None) -> tuple[str, str]:
    """Two optional inputs: None == None holds, None == 5 does not."""
    return _bit("eq", x == y), _bit("ne", x != y)


@workflow
def none_order(x: Optional[int] = None) -> str:
    """None has no order: refused remotely when the execution is created, an error locally when it runs."""
    return _bit("lt_none", x < None)


@workflow
def both_either(a: int, b: int) -> str:
    """`&` before `|`, each branch its own label; `elif_` is reached only when `if_` fails."""
    return (conditional("both_either")
            .if_((a > 0) & (b > 0)).then(label(text="both"))
            .elif_((a > 0) | (b > 0)).then(label(text="one"))
            .else_().then(label(text="none")))


@workflow
def nested(a: int, b: int, word: str) -> str:
    """(a outside [0, 10] or b odd-one-out 3) and the word is not "stop"."""
    return (conditional("nested")
            .if_(((a < 0) | (a > 10) | (b == 3)) & (word != "stop")).then(shout(text=word))
            .else_().then(label(text=word)))


@workflow
def nested_conditions(x: int, y: int) -> str:
    """flytekit's nested_conditions: a conditional inside a case. The outer W resolves the inner condition's
    operands too, and the inner Choice follows the outer one with no W of its own."""
    return (conditional("outer")
            .if_(x > 10).then(conditional("inner")
                              .if_(y < 0).then(label(text="negative"))
                              .else_().then(label(text="positive")))
            .else_().then(label(text="none")))


@workflow
def sign(x: float) -> str:
    """if / elif / else-fail: zero stops the run."""
    return (conditional("sign")
            .if_(x > 0.0).then(label(text="positive"))
            .elif_(x < 0.0).then(label(text="negative"))
            .else_().fail("x must not be zero"))


@workflow
def grade(score: int, passed: bool) -> str:
    """Several elif_ cases, the first that holds wins; a boolean case with is_false()."""
    return (conditional("grade")
            .if_(passed.is_false()).then(label(text="retake"))
            .elif_(score >= 90).then(label(text="A"))
            .elif_(score >= 75).then(label(text="B"))
            .elif_(score > 60).then(label(text="C"))
            .else_().then(label(text="D")))
