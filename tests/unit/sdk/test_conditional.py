"""conditional(): if/elif/else over promises, built into one branch node; what runs, what the spec
looks like, and every misuse."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import pytest

from chalicelib.errors import ExecutionError, TypeMismatchError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import ConditionalSection, conditional, task, workflow
from slipstream.serialization import LOCAL
from tests.unit.sdk.helpers import built_workflow


@task
def label(kind: str) -> str:
    return kind


@task
def flag(b: bool) -> bool:
    return b


@task
def count(n: int) -> int:
    return n


@task
def noop() -> None:
    pass


@workflow
def sign(x: int) -> str:
    return (conditional("sign")
            .if_(x > 0).then(label(kind="positive"))
            .elif_((x < 0) | (x == -100)).then(label(kind="negative"))
            .else_().fail("zero has no sign"))


@workflow
def combined(x: int, b: bool, o: Optional[int] = None) -> str:
    return (conditional("combined")
            .if_((x > 0) & flag(b=b).is_true()).then(label(kind="positive and true"))
            .elif_(o.is_none() | (x == 5)).then(label(kind="no o, or five"))
            .elif_(flag(b=b).is_false()).then(label(kind="false"))
            .else_().then(label(kind="else")))


@workflow
def reversed_operands(x: int) -> str:
    positive = 0 < x  # noqa: SIM300 (the promise on the right: Python asks it for the reflected `>`)
    return conditional("r").if_(positive).then(label(kind="x > 0")).else_().then(label(kind="x <= 0"))


@workflow
def after(d: dt.date) -> str:
    return conditional("after").if_(d >= dt.date(2024, 1, 1)).then(label(kind="2024 on")).else_().then(
        label(kind="before"))


@workflow
def at_least(t: dt.datetime) -> str:
    noon_utc = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
    return conditional("at_least").if_(t >= noon_utc).then(label(kind="noon or later")).else_().then(
        label(kind="earlier"))


@workflow
def long_enough(d: dt.timedelta) -> str:
    return conditional("long").if_(d > dt.timedelta(minutes=1)).then(label(kind="long")).else_().then(
        label(kind="short"))


@workflow
def feeds_a_task(x: int) -> int:
    n = conditional("n").if_(x > 10).then(count(n=10)).else_().then(count(n=x))
    return count(n=n)


@workflow
def ordered_after(x: int) -> None:
    first = noop()
    checked = conditional("guard").if_(x >= 0).then(noop()).else_().fail("x is negative")
    first >> checked


@workflow
def guarded(x: int) -> str:
    return conditional("guard").if_(x != 0).then(label(kind="ok")).else_().fail("x is zero")


@workflow
def outer(x: int) -> str:
    return label(kind=guarded(x=x))


def test_if_elif_else_takes_the_first_case_that_holds():
    assert sign(x=5) == "positive"
    assert sign(x=-5) == "negative"
    assert combined(x=1, b=True) == "positive and true"
    assert combined(x=1, b=False) == "no o, or five"
    assert combined(x=5, b=False, o=1) == "no o, or five"
    assert combined(x=-1, b=False, o=1) == "false"
    assert combined(x=-1, b=True, o=1) == "else"
    assert reversed_operands(x=1) == "x > 0"
    assert reversed_operands(x=0) == "x <= 0"


def test_dates_and_durations_compare_by_time():
    assert after(d=dt.date(2024, 5, 1)) == "2024 on"
    assert after(d=dt.date(2023, 12, 31)) == "before"
    assert long_enough(d=dt.timedelta(seconds=90)) == "long"
    assert long_enough(d=dt.timedelta(seconds=30)) == "short"
    utc = dt.UTC
    assert at_least(t=dt.datetime(2024, 1, 1, 13, 0, tzinfo=utc)) == "noon or later"
    assert at_least(t=dt.datetime(2024, 1, 1, 11, 0, tzinfo=utc)) == "earlier"


def test_datetimes_in_other_time_zones_compare_by_instant():
    # 16:00 at UTC+05:00 is 11:00 UTC, before noon UTC; compared as ISO strings, "16:00" > "12:00".
    plus_five = dt.timezone(dt.timedelta(hours=5))
    assert at_least(t=dt.datetime(2024, 1, 1, 16, 0, tzinfo=plus_five)) == "earlier"


def test_the_fail_branch_raises_an_execution_error_naming_the_conditional():
    with pytest.raises(ExecutionError, match=r"^conditional \[sign\] failed: zero has no sign$"):
        sign(x=0)


def test_a_fail_inside_a_subworkflow_fails_the_caller():
    assert outer(x=1) == "ok"
    with pytest.raises(ExecutionError, match=r"^conditional \[guard\] failed: x is zero$"):
        outer(x=0)


def test_a_conditional_result_feeds_later_nodes():
    assert feeds_a_task(x=50) == 10
    assert feeds_a_task(x=3) == 3


def test_a_conditional_without_outputs_can_be_ordered():
    spec = ordered_after.to_spec(LOCAL)
    assert [(n["id"], n["kind"], n["upstream"]) for n in spec["nodes"]] == [
        ("n0", "task", []), ("n1", "branch", ["n0"])]
    assert ordered_after(x=1) is None
    with pytest.raises(ExecutionError, match=r"conditional \[guard\] failed: x is negative"):
        ordered_after(x=-1)


def test_the_branch_node_holds_its_cases_else_and_conditions():
    spec = sign.to_spec(LOCAL)
    check_spec_shape(spec)
    (branch,) = spec["nodes"]
    assert branch["kind"] == "branch" and branch["name"] == "sign"
    assert [c["then"]["id"] for c in branch["cases"]] == ["n0-0", "n0-1"]
    assert branch["cases"][0]["condition"] == {"compare": {"op": ">", "left": {"input": "x"}, "right": {"value": 0}}}
    assert branch["cases"][1]["condition"] == {"or": [
        {"compare": {"op": "<", "left": {"input": "x"}, "right": {"value": 0}}},
        {"compare": {"op": "==", "left": {"input": "x"}, "right": {"value": -100}}}]}
    assert branch["else"] is None and branch["else_fail"] == "zero has no sign"
    assert spec["outputs"] == {"o0": {"promise": {"node": "n0", "output": "o0"}}}


def test_else_then_is_a_node_of_its_own_and_constants_are_json():
    spec = combined.to_spec(LOCAL)
    check_spec_shape(spec)
    branch = next(n for n in spec["nodes"] if n["kind"] == "branch")
    assert branch["else"]["id"] == f"{branch['id']}-else" and branch["else_fail"] is None
    assert branch["cases"][1]["condition"]["or"][0] == {"is_none": {"input": "o"}}
    date_case = after.to_spec(LOCAL)["nodes"][0]["cases"][0]["condition"]
    assert date_case["compare"]["right"] == {"value": "2024-01-01"}


def test_a_conditional_section_is_exported_and_returned():
    @workflow
    def wf(x: int) -> str:
        section = conditional("s")
        assert isinstance(section, ConditionalSection)
        return section.if_(x > 0).then(label(kind="a")).else_().then(label(kind="b"))

    assert wf(x=1) == "a"


def test_a_conditional_without_else_is_not_finished():
    with pytest.raises(ValidationError, match=r"^workflow \[.*wf\]: conditional \['c'\] is not finished; end it with "
                                              r"\.else_\(\)\.then\(\.\.\.\) or \.else_\(\)\.fail\(\.\.\.\)$"):
        @built_workflow
        def wf(a: int) -> None:
            conditional("c").if_(a > 0).then(noop())


def test_a_conditional_outside_a_workflow():
    with pytest.raises(ValidationError, match=r"^conditional \[nowhere\] can only be used inside a @workflow"):
        conditional("nowhere")


def test_a_conditional_needs_a_name():
    with pytest.raises(ValidationError, match=r"conditional\(\) needs a name"):
        @built_workflow
        def wf(x: int) -> str:
            return conditional("").if_(x > 1).then(label(kind="a")).else_().then(label(kind="b"))


def test_a_bare_promise_is_not_a_condition():
    with pytest.raises(ValidationError, match=r"^conditional \[k\]: a promise is not a condition; write "
                                              r"input \[b\]\.is_true\(\) or compare it"):
        @built_workflow
        def wf(b: bool) -> str:
            return conditional("k").if_(b).then(label(kind="a")).else_().then(label(kind="b"))


def test_a_python_value_is_not_a_condition():
    with pytest.raises(ValidationError, match=r"^conditional \[k\]: if_\(\) takes a comparison of promises such as "
                                              r"x > 0, not True$"):
        @built_workflow
        def wf(x: int) -> str:
            return conditional("k").if_(True).then(label(kind="a")).else_().then(label(kind="b"))


def test_python_and_on_conditions_is_refused():
    with pytest.raises(ValidationError, match=r"^a condition on promises has no value while the workflow is built"):
        @built_workflow
        def wf(x: int) -> str:
            return conditional("k").if_((x > 1) and (x < 3)).then(label(kind="a")).else_().then(label(kind="b"))


def test_ampersand_needs_a_condition_on_both_sides():
    with pytest.raises(ValidationError, match=r"^expected a condition such as `x > 0` or `flag\.is_true\(\)`, got "
                                              r"Promise\(input \[x\]: int\)$"):
        @built_workflow
        def wf(x: int) -> str:
            return conditional("k").if_((x > 1) & x).then(label(kind="a")).else_().then(label(kind="b"))


def test_then_takes_one_call_written_inside_it():
    with pytest.raises(ValidationError, match=r"^conditional \[k\]: then\(\) takes one task or workflow call, written "
                                              r"inside it"):
        @built_workflow
        def wf(x: int) -> str:
            return conditional("k").if_(x > 1).then("a").else_().then(label(kind="b"))
    with pytest.raises(ValidationError, match=r"conditional \[k\]: then\(\) takes one task or workflow call"):
        @built_workflow
        def wf2(x: int) -> int:
            return conditional("k").if_(x > 1).then(count(n=count(n=x))).else_().then(count(n=0))


def test_cases_come_in_order():
    with pytest.raises(ValidationError, match=r"^conditional \[k\]: start with if_\(\)$"):
        @built_workflow
        def wf(x: int) -> str:
            return conditional("k").elif_(x > 1).then(label(kind="a")).else_().then(label(kind="b"))
    with pytest.raises(ValidationError, match=r"^conditional \[k\]: start with if_\(\)$"):
        @built_workflow
        def wf2(x: int) -> str:
            return conditional("k").else_().then(label(kind="b"))
    with pytest.raises(ValidationError, match=r"^conditional \[k\]: use elif_\(\) after the first if_\(\)$"):
        @built_workflow
        def wf3(x: int) -> str:
            section = conditional("k").if_(x > 1).then(label(kind="a"))
            return section.if_(x > 2).then(label(kind="b")).else_().then(label(kind="c"))


def test_branches_with_outputs_of_different_types_are_refused_naming_the_types():
    with pytest.raises(ValidationError, match=r"conditional \[k\]: every branch must give the same outputs") as info:
        @built_workflow
        def wf(x: int) -> str:
            return conditional("k").if_(x > 1).then(label(kind="a")).else_().then(flag(b=True))
    message = str(info.value)
    assert "str" in message and "bool" in message, f"the message does not say which types differ: {message}"


def test_branches_with_outputs_of_different_names_are_refused():
    with pytest.raises(ValidationError, match=r"every branch must give the same outputs; got \{o0: str\} and \{\}"):
        @built_workflow
        def wf(x: int) -> None:
            conditional("k").if_(x > 1).then(label(kind="a")).else_().then(noop())


def test_comparing_promises_of_different_types_is_refused():
    with pytest.raises(TypeMismatchError, match=r"wf\] conditional \[k\]: cannot compare int with str"):
        @built_workflow
        def wf(x: int, s: str) -> str:
            return conditional("k").if_(x > s).then(label(kind="a")).else_().then(label(kind="b"))


def test_a_list_cannot_be_compared():
    with pytest.raises(TypeMismatchError, match=r"conditional \[k\]: workflow input \[xs\] is list\[int\]; "
                                                r"conditions compare numbers"):
        @built_workflow
        def wf(xs: list[int]) -> str:
            return conditional("k").if_(xs == 1).then(label(kind="a")).else_().then(label(kind="b"))
    with pytest.raises(ValidationError, match=r"^cannot compare a promise with \[1\]: use numbers, strings, booleans "
                                              r"or dates$"):
        @built_workflow
        def wf2(x: int) -> str:
            return conditional("k").if_(x > [1]).then(label(kind="a")).else_().then(label(kind="b"))
