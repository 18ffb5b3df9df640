"""map_task(): one node that runs a task per item of its list inputs; bound inputs stay scalars; with
min_success_ratio below 1 the outputs are lists of Optional values."""

from __future__ import annotations

import functools
from typing import Optional

import pytest

from chalicelib.errors import ExecutionError, TypeMismatchError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import MapTask, dynamic, map_task, task, workflow
from slipstream.serialization import LOCAL
from tests.unit.sdk.helpers import built_workflow


@task
def square(x: int) -> int:
    return x * x


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def split(x: int) -> tuple[int, str]:
    return x, str(x)


@task
def inverse(x: int) -> float:
    return 1 / x


@dynamic
def dyn(n: int) -> int:
    return n


@workflow
def squares(xs: list[int]) -> list[int]:
    return map_task(square)(x=xs)


@workflow
def scaled(xs: list[int], factor: int) -> list[int]:
    return map_task(functools.partial(scale, factor=factor), concurrency=2)(x=xs)


@workflow
def sums(xs: list[int], ys: list[int]) -> list[int]:
    return map_task(add)(a=xs, b=ys)


@workflow
def splits(xs: list[int]) -> tuple[list[int], list[str]]:
    numbers, words = map_task(split)(x=xs)
    return numbers, words


@workflow
def tolerant(xs: list[int]) -> list[Optional[float]]:
    return map_task(inverse, min_success_ratio=0.5)(x=xs)


@workflow
def chained(xs: list[int]) -> list[int]:
    return map_task(square)(x=map_task(square)(x=xs))


def test_a_map_node_in_the_spec():
    spec = scaled.to_spec(LOCAL)
    check_spec_shape(spec)
    (node,) = spec["nodes"]
    assert node["kind"] == "map"
    assert node["task"]["name"] == "tests.unit.sdk.test_map_task.scale"
    assert node["inputs"] == {"x": {"input": "xs"}, "factor": {"input": "factor"}}
    assert node["mapped_inputs"] == ["x"]
    assert (node["concurrency"], node["min_success_ratio"]) == (2, 1.0)
    assert sums.to_spec(LOCAL)["nodes"][0]["mapped_inputs"] == ["a", "b"]
    assert tolerant.to_spec(LOCAL)["nodes"][0]["min_success_ratio"] == 0.5


def test_map_tasks_run_per_item():
    assert squares(xs=[1, 2, 3]) == [1, 4, 9]
    assert squares(xs=[]) == []
    assert scaled(xs=[1, 2, 3], factor=10) == [10, 20, 30]
    assert sums(xs=[1, 2], ys=[10, 20]) == [11, 22]
    assert splits(xs=[1, 2]) == ([1, 2], ["1", "2"])
    assert chained(xs=[2, 3]) == [16, 81]


def test_mapped_inputs_of_different_lengths_fail_the_run():
    with pytest.raises(ExecutionError, match=r"^map task \[n0\]: mapped inputs have different lengths "
                                             r"\{'a': 1, 'b': 2\}$"):
        sums(xs=[1], ys=[1, 2])


def test_outside_a_workflow_a_map_task_is_a_plain_loop():
    mapper = map_task(square)
    assert isinstance(mapper, MapTask) and repr(mapper) == "MapTask(tests.unit.sdk.test_map_task.square)"
    assert mapper(x=[1, 2]) == [1, 4]
    assert map_task(functools.partial(scale, factor=3))(x=[1, 2]) == [3, 6]
    assert map_task(split)(x=[1, 2]) == ([1, 2], ["1", "2"])
    with pytest.raises(ValidationError, match=r"add\]: mapped inputs have different lengths"):
        map_task(add)(a=[1], b=[1, 2])


def test_a_tolerant_map_gives_optional_items_and_must_be_declared_so():
    with pytest.raises(TypeMismatchError, match=r"output \[o0\]: expected list\[float\], but \[n0\.o0\] is "
                                                r"list\[Optional\[float\]\]"):
        @built_workflow
        def wf(xs: list[int]) -> list[float]:
            return map_task(inverse, min_success_ratio=0.5)(x=xs)


def test_mapped_inputs_must_be_lists():
    with pytest.raises(TypeMismatchError, match=r"node \[n0\] \(.*inverse\) input \[x\]: expected list\[int\], but "
                                                r"input \[x\] is int"):
        @built_workflow
        def wf(x: int) -> list[float]:
            return map_task(inverse)(x=x)


def test_a_bound_input_stays_a_scalar():
    with pytest.raises(TypeMismatchError, match=r"input \[factor\]: expected int, but input \[factors\] is "
                                                r"list\[int\]"):
        @built_workflow
        def wf(xs: list[int], factors: list[int]) -> list[int]:
            return map_task(functools.partial(scale, factor=factors))(x=xs)


def test_the_ratio_must_be_a_constant():
    with pytest.raises(ValidationError, match=r"min_success_ratio \[Promise\(input \[ratio\]: float\)\] must be "
                                              r"between 0 and 1"):
        @built_workflow
        def wf(xs: list[int], ratio: float) -> list[Optional[float]]:
            return map_task(inverse, min_success_ratio=ratio)(x=xs)


@pytest.mark.parametrize("target, options, message", [
    (square, {"concurrency": 0}, r"^map_task of task \[.*square\]: concurrency \[0\] must be >= 1$"),
    (square, {"concurrency": True}, r"concurrency \[True\] must be >= 1"),
    (square, {"concurrency": 1.5}, r"concurrency \[1\.5\]"),
    (square, {"min_success_ratio": 1.5}, r"^map_task of task \[.*square\]: min_success_ratio \[1\.5\] must be "
                                         r"between 0 and 1$"),
    (square, {"min_success_ratio": -0.1}, r"min_success_ratio \[-0\.1\]"),
    (square, {"min_success_ratio": True}, r"min_success_ratio \[True\]"),
    (functools.partial(square, x=1), {}, r"square\]: partial binds every input; leave one to map"),
    (functools.partial(scale, 1), {}, r"^map_task: bind inputs by keyword in functools\.partial"),
    (functools.partial(scale, y=1), {}, r"scale\]: partial binds unknown inputs \['y'\]"),
    (lambda x: x, {}, r"^map_task takes a @task \(or a functools\.partial of one\), not <function"),
    (dyn, {}, r"map_task takes a @task .*, not DynamicTask\(tests\.unit\.sdk\.test_map_task\.dyn\)"),
    (squares, {}, r"map_task takes a @task .*, not Workflow\("),
])
def test_bad_map_tasks_are_refused(target, options, message):
    with pytest.raises(ValidationError, match=message):
        map_task(target, **options)


def test_calls_of_a_map_task_are_checked():
    with pytest.raises(ValidationError, match=r"^map_task of task \[.*square\] takes keyword arguments only$"):
        map_task(square)([1])
    with pytest.raises(ValidationError, match=r"scale\]: inputs \['factor'\] are already bound by partial"):
        map_task(functools.partial(scale, factor=1))(x=[1], factor=2)
