"""The local engine runs the compiled IR: retries, cache, conditionals, map tasks, dynamic, files."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from slipstream import (
    Directory,
    ExecutionError,
    File,
    TaskFailedError,
    conditional,
    dynamic,
    map_task,
    task,
    workflow,
)
from slipstream.cache import LocalCache
from slipstream.local import execute_locally

CALLS: dict[str, int] = {}


@task(retries=2)
def flaky(key: str, failures: int) -> str:
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= failures:
        raise RuntimeError(f"failure {CALLS[key]}")
    return f"ok after {CALLS[key]}"


@workflow
def flaky_wf(key: str, failures: int) -> str:
    return flaky(key=key, failures=failures)


@task(cache=True, cache_version="1")
def square(x: int) -> int:
    CALLS["square"] = CALLS.get("square", 0) + 1
    return x * x


@workflow
def cached_wf(x: int) -> int:
    return square(x=x)


@task
def inverse(x: int) -> float:
    return 1 / x


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@workflow
def tolerant_map_wf(xs: list[int]) -> list[float | None]:
    return map_task(inverse, min_success_ratio=0.5)(x=xs)


@workflow
def strict_map_wf(xs: list[int]) -> list[float]:
    return map_task(inverse)(x=xs)


@workflow
def partial_map_wf(xs: list[int], factor: int) -> list[int]:
    return map_task(functools.partial(scale, factor=factor), concurrency=2)(x=xs)


@task
def label(kind: str) -> str:
    return kind


@workflow
def sign(x: int) -> str:
    return (conditional("sign")
            .if_(x > 0).then(label(kind="positive"))
            .elif_((x < 0) | (x == -100)).then(label(kind="negative"))
            .else_().fail("zero has no sign"))


@dynamic
def powers(n: int) -> list[int]:
    return [scale(x=i, factor=i) for i in range(n)]


@workflow
def dynamic_wf(n: int) -> list[int]:
    return powers(n=n)


@task
def write(text: str, folder: str) -> File:
    path = Path(folder) / "out.txt"
    path.write_text(text)
    return File(path)


@task
def read(f: File) -> str:
    return Path(f.path).read_text()


@task
def folder_of(f: File) -> Directory:
    return Directory(Path(f.path).parent)


@task
def count(d: Directory) -> int:
    return len(d.files())


@workflow
def files_wf(text: str, folder: str) -> tuple[str, int]:
    f = write(text=text, folder=folder)
    return read(f=f), count(d=folder_of(f=f))


def test_a_failing_task_is_rerun_up_to_its_retries():
    assert flaky_wf(key="twice", failures=2) == "ok after 3"
    with pytest.raises(TaskFailedError, match=r"failed after 3 attempts: RuntimeError: failure 3"):
        flaky_wf(key="thrice", failures=3)


def test_second_run_of_a_cached_task_is_a_hit_and_says_so(tmp_path):
    cache = LocalCache(tmp_path)
    CALLS["square"] = 0
    first = execute_locally(cached_wf, {"x": 7}, cache=cache)
    second = execute_locally(cached_wf, {"x": 7}, cache=cache)
    assert first.outputs == second.outputs == {"o0": 49}
    assert [r.cache_hit for r in first.records] == [False]
    assert [r.cache_hit for r in second.records] == [True]
    assert CALLS["square"] == 1
    execute_locally(cached_wf, {"x": 8}, cache=cache)
    assert CALLS["square"] == 2  # other inputs: a miss


def test_map_task_with_partial_failure_and_ratio():
    assert tolerant_map_wf(xs=[1, 2, 0, 4]) == [1.0, 0.5, None, 0.25]
    with pytest.raises(TaskFailedError, match=r"3 of 4 items succeeded, below min_success_ratio 1.0"):
        strict_map_wf(xs=[1, 2, 0, 4])


def test_map_task_ratio_must_be_a_constant():
    with pytest.raises(Exception, match=r"min_success_ratio \[Promise"):
        @workflow
        def wf(xs: list[int], ratio: float) -> list[float | None]:
            return map_task(inverse, min_success_ratio=ratio)(x=xs)


def test_map_task_with_bound_inputs():
    assert partial_map_wf(xs=[1, 2, 3], factor=10) == [10, 20, 30]


def test_conditional_branches_and_fail():
    assert sign(x=5) == "positive"
    assert sign(x=-5) == "negative"
    with pytest.raises(ExecutionError, match=r"conditional \[sign\] failed: zero has no sign"):
        sign(x=0)


def test_dynamic_runs_its_body_with_real_values():
    assert dynamic_wf(n=4) == [0, 1, 4, 9]
    assert powers(n=3) == [0, 1, 4]


def test_files_and_directories_pass_between_tasks(tmp_path):
    assert files_wf(text="hello", folder=str(tmp_path)) == ("hello", 1)


def test_inputs_are_checked_where_they_enter():
    with pytest.raises(Exception, match=r"input \[x\]: expected int, got 'seven'"):
        cached_wf(x="seven")
    with pytest.raises(Exception, match=r"unknown inputs \['y'\]"):
        cached_wf(x=1, y=2)
    with pytest.raises(Exception, match=r"input \[x\] \(int\) is required"):
        cached_wf()


def test_launch_plan_defaults_and_fixed_inputs(examples_on_path):
    import launch_plans

    assert launch_plans.nightly_greeting() == "Good night, ops (2024-01-01)"
    with pytest.raises(Exception, match="fixed by the launch plan"):
        launch_plans.nightly_greeting(name="someone")
