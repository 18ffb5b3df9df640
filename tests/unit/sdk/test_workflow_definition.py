"""Workflow bodies run once at definition time: the graph they build, and every definition-time error."""

from __future__ import annotations

import typing
from typing import NamedTuple

import pytest

from slipstream import (
    CycleError,
    TypeMismatchError,
    ValidationError,
    conditional,
    task,
    workflow,
)
from slipstream.serialization import LOCAL


@task
def add(a: int, b: int = 1) -> int:
    return a + b


@task
def shout(word: str) -> str:
    return word.upper()


@task
def join(words: list[str]) -> str:
    return " ".join(words)


@task
def pair(x: int) -> tuple[int, str]:
    return x, str(x)


class Fit(NamedTuple):
    slope: float
    intercept: float


@task
def fit(n: int) -> Fit:
    return Fit(float(n), 1.0)


@task
def functional_named(n: int) -> typing.NamedTuple("Named", [("total", int), ("label", str)]):
    return n, "n"


@task
def side_effect() -> None:
    pass


def test_seed_workflow_builds_two_nodes_and_runs(examples_on_path):
    import hello

    spec = hello.my_wf.to_spec(LOCAL)
    assert [n["task"]["name"] for n in spec["nodes"]] == ["hello.t1", "hello.t2"]
    assert spec["outputs"] == {"o0": {"promise": {"node": "n0", "output": "t1_int_output"}},
                               "o1": {"promise": {"node": "n1", "output": "o0"}}}
    assert hello.my_wf(a=50, b="hello") == (52, "helloworld")


def test_outputs_are_named_o0_for_one_value_and_o0_o1_for_tuples():
    assert list(add.interface.outputs) == ["o0"]
    assert list(pair.interface.outputs) == ["o0", "o1"]


def test_named_tuple_outputs_in_both_forms_give_field_names_and_attribute_access():
    assert list(fit.interface.outputs) == ["slope", "intercept"]
    assert list(functional_named.interface.outputs) == ["total", "label"]

    @workflow
    def use(n: int) -> tuple[float, int]:
        r = fit(n=n)
        return r.slope, add(a=functional_named(n=n).total, b=2)

    assert use(n=3) == (3.0, 5)


def test_tuple_unpacking_lists_of_promises_defaults_and_constants():
    @workflow
    def wf(a: int, word: str = "hi") -> tuple[int, str, str]:
        x, label = pair(x=a)
        return add(a=x), join(words=[shout(word=word), label, "!"]), "constant"

    assert wf(a=4) == (5, "HI 4 !", "constant")
    assert wf(a=1, word="yo") == (2, "YO 1 !", "constant")


def test_none_workflow_and_ordering_with_rshift():
    @workflow
    def wf() -> None:
        first = side_effect()
        second = shout(word="x")
        first >> second

    spec = wf.to_spec(LOCAL)
    assert spec["nodes"][1]["upstream"] == ["n0"]
    assert spec["interface"]["outputs"] == []
    assert wf() is None


def test_subworkflow_call_becomes_a_workflow_node():
    @workflow
    def inner(a: int) -> int:
        return add(a=a, b=10)

    @workflow
    def outer(a: int) -> int:
        return add(a=inner(a=a))

    assert outer.to_spec(LOCAL)["nodes"][0]["kind"] == "workflow"
    assert outer(a=1) == 12


def test_positional_call_is_refused_with_the_fix():
    with pytest.raises(ValidationError, match=r"keyword arguments only.*add\(a=\.\.\., b=\.\.\.\)"):
        @workflow
        def wf(a: int) -> int:
            return add(a)


def test_unknown_input_names_workflow_node_and_input():
    with pytest.raises(ValidationError, match=r"workflow \[.*wf\] node \[n0\] \(.*add\) has no input \['c'\]"):
        @workflow
        def wf(a: int) -> int:
            return add(a=a, c=1)


def test_missing_input_says_what_to_pass():
    with pytest.raises(ValidationError, match=r"missing input \[word\] \(str\); pass word=\.\.\."):
        @workflow
        def wf() -> str:
            return shout()


def test_output_type_that_does_not_fit_the_input_it_feeds():
    with pytest.raises(TypeMismatchError, match=r"node \[n1\] .*input \[word\]: expected str, but \[n0.o0\] is int"):
        @workflow
        def wf(a: int) -> str:
            return shout(word=add(a=a))


def test_constant_of_the_wrong_type():
    with pytest.raises(TypeMismatchError, match=r"input \[a\]: expected int, got 'x'"):
        @workflow
        def wf() -> int:
            return add(a="x")


def test_cycle_through_rshift_is_reported_with_its_path():
    with pytest.raises(CycleError, match=r"cycle: nodes \[n\d -> n\d -> n\d\]"):
        @workflow
        def wf() -> None:
            a = side_effect()
            b = side_effect()
            a >> b
            b >> a


def test_unsupported_annotation_names_parameter_and_supported_types():
    with pytest.raises(ValidationError, match=r"input \[x\].*unsupported annotation.*supported types are"):
        @task
        def bad(x: set) -> int:
            return 1


def test_missing_annotation_says_how_to_fix():
    with pytest.raises(ValidationError, match=r"input \[x\] has no type annotation; add one"):
        @task
        def bad(x) -> int:
            return 1


def test_promise_in_python_if_is_refused():
    with pytest.raises(ValidationError, match=r"Python's `if`.*pass it to conditional"):
        @workflow
        def wf(a: int) -> int:
            if a > 0:
                return add(a=a)
            return a


def test_conditional_must_end_with_else():
    with pytest.raises(ValidationError, match=r"conditional \['c'\] is not finished"):
        @workflow
        def wf(a: int) -> None:
            conditional("c").if_(a > 0).then(side_effect())


def test_conditional_outside_a_workflow():
    with pytest.raises(ValidationError, match="only be used inside"):
        conditional("nowhere")


def test_returning_a_value_without_declaring_outputs():
    with pytest.raises(ValidationError, match="declares no outputs; annotate its return type"):
        @workflow
        def wf(a: int):
            return add(a=a)


def test_multi_output_node_fed_whole_asks_to_pick_one():
    with pytest.raises(ValidationError, match=r"has several outputs; pick one, e.g. result.o0"):
        @workflow
        def wf(a: int) -> int:
            return add(a=pair(x=a))


def test_task_called_outside_a_workflow_runs_the_function():
    assert add(a=2, b=3) == 5
    with pytest.raises(ValidationError, match="keyword arguments only"):
        add(2, 3)


def test_task_options_are_recorded_in_the_spec():
    from datetime import timedelta

    from slipstream import Resources, Secret

    @task(cache=True, cache_version="2", retries=3, timeout=timedelta(minutes=2), interruptible=True,
          requests=Resources(cpu="1", mem="1Gi", gpu=1), limits=Resources(mem="2Gi"), container_image="img:1",
          environment={"A": "b"}, secret_requests=[Secret("db", "password"), "api"])
    def configured(x: int) -> int:
        return x

    spec = configured.to_spec(LOCAL)
    assert spec["metadata"] == {"cache": True, "cache_version": "2", "retries": 3, "timeout_seconds": 120,
                                "interruptible": True}
    assert spec["container"]["requests"] == {"cpu": "1", "mem": "1Gi", "gpu": "1"}
    assert spec["container"]["limits"] == {"mem": "2Gi"}
    assert spec["container"]["image"] == "img:1"
    assert spec["container"]["secrets"] == [{"group": "db", "key": "password"}, {"group": "api", "key": None}]


@pytest.mark.parametrize("options, message", [
    ({"retries": -1}, "retries"), ({"retries": "3"}, "retries"), ({"timeout": 0}, "timeout"),
    ({"cache_version": 2}, "cache_version"),
])
def test_bad_task_options_are_refused(options, message):
    def identity(x: int) -> int:
        return x

    with pytest.raises(ValidationError, match=message):
        task(**options)(identity)
