"""@dynamic: a task whose body runs at execution time with real values and builds the graph that then
runs; Python loops and `if` over the inputs are allowed there."""

from __future__ import annotations

import pytest

from chalicelib.errors import TaskFailedError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import DynamicTask, Workflow, dynamic, task, workflow
from slipstream.local import execute_locally
from slipstream.serialization import LOCAL
from tests.unit.sdk.helpers import built_workflow


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def fragile(x: int) -> int:
    if x == 2:
        raise ValueError("two is not allowed")
    return x


@dynamic
def powers(n: int) -> list[int]:
    return [scale(x=i, factor=i) for i in range(n)]


@dynamic(retries=1)
def pick(n: int) -> int:
    if n > 2:
        return scale(x=n, factor=10)
    return n


@dynamic
def constants_only(words: list[str]) -> str:
    return "-".join(words)


@dynamic
def nested(n: int) -> list[int]:
    return powers(n=n)


@dynamic
def mistaken(n: int) -> int:
    return scale(x="not a number", factor=n)


@dynamic
def fails_inside(n: int) -> list[int]:
    return [fragile(x=i) for i in range(n)]


@workflow
def uses_powers(n: int) -> list[int]:
    return powers(n=n)


@workflow
def uses_pick(n: int) -> int:
    return pick(n=n)


@workflow
def uses_mistaken(n: int) -> int:
    return mistaken(n=n)


@workflow
def uses_fails_inside(n: int) -> list[int]:
    return fails_inside(n=n)


def test_a_dynamic_task_is_a_task_of_type_dynamic():
    assert isinstance(powers, DynamicTask)
    spec = powers.to_spec(LOCAL)
    check_spec_shape(spec)
    assert spec["task_type"] == "dynamic"
    assert pick.to_spec(LOCAL)["metadata"]["retries"] == 1
    node = uses_powers.to_spec(LOCAL)["nodes"][0]
    assert (node["kind"], node["task"]["name"]) == ("task", "tests.unit.sdk.test_dynamic.powers")


def test_the_body_runs_with_real_values_inside_a_workflow():
    assert uses_powers(n=4) == [0, 1, 4, 9]
    assert uses_powers(n=0) == []
    assert uses_pick(n=1) == 1
    assert uses_pick(n=5) == 50


def test_called_directly_a_dynamic_task_expands_and_runs():
    assert powers(n=3) == [0, 1, 4]
    assert pick(n=3) == 30
    assert constants_only(words=["a", "b"]) == "a-b"
    assert nested(n=3) == [0, 1, 4]


def test_expand_builds_a_workflow_with_the_values_baked_in():
    expanded = powers.expand({"n": 2})
    assert isinstance(expanded, Workflow)
    assert expanded.name == "tests.unit.sdk.test_dynamic.powers.dynamic"
    spec = expanded.to_spec(LOCAL)
    check_spec_shape(spec)
    assert spec["interface"]["inputs"] == []
    assert [n["inputs"] for n in spec["nodes"]] == [{"x": {"value": 0}, "factor": {"value": 0}},
                                                    {"x": {"value": 1}, "factor": {"value": 1}}]
    assert spec["outputs"] == {"o0": {"list": [{"promise": {"node": "n0", "output": "o0"}},
                                               {"promise": {"node": "n1", "output": "o0"}}]}}


def test_the_nodes_a_dynamic_task_runs_are_recorded_under_its_node():
    records = execute_locally(uses_powers, {"n": 3}).records
    assert [r.node_id for r in records] == ["n0/n0", "n0/n1", "n0/n2"]
    assert {r.task for r in records} == {"tests.unit.sdk.test_dynamic.scale"}


def test_an_invalid_graph_built_at_run_time_fails_the_dynamic_node():
    with pytest.raises(TaskFailedError, match=r"^dynamic task \[tests\.unit\.sdk\.test_dynamic\.mistaken\] \(node "
                                              r"\[n0\]\) built an invalid graph: .*input \[x\]: expected int, got "
                                              r"'not a number'") as info:
        uses_mistaken(n=1)
    assert info.value.node_id == "n0"


def test_a_task_failing_inside_the_expansion_names_its_node_path():
    with pytest.raises(TaskFailedError, match=r"fragile\] \(node \[n0/n2\]\) failed after 1 attempt: ValueError: "
                                              r"two is not allowed") as info:
        uses_fails_inside(n=3)
    assert info.value.node_id == "n0/n2"


def test_dynamic_refuses_cache_and_positional_calls():
    with pytest.raises(ValidationError, match=r"^@dynamic does not support cache; cache the tasks it calls instead$"):
        @dynamic(cache=True)
        def cached(n: int) -> int:
            return n
    with pytest.raises(ValidationError, match=r"powers\] takes keyword arguments only"):
        powers(3)
    with pytest.raises(ValidationError, match=r"powers\] takes keyword arguments only"):
        @built_workflow
        def wf(n: int) -> list[int]:
            return powers(n)


def test_inputs_of_a_direct_call_are_checked():
    with pytest.raises(ValidationError, match=r"^task \[tests\.unit\.sdk\.test_dynamic\.powers\] input \[n\]: "
                                              r"expected int, got 'three'$"):
        powers(n="three")
