"""The local engine runs the compiled IR, not the Python bodies: retries, the cache, map tasks with
partial failure, subworkflows, conditionals, files, and the records it keeps of every node."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Optional

import pytest

from chalicelib.caching import cache_key
from chalicelib.compiler import compile_workflow
from chalicelib.errors import ExecutionError, TaskFailedError
from slipstream import Directory, File, map_task, task, workflow
from slipstream.cache import LocalCache
from slipstream.engine import LocalEngine, NodeRecord, import_task
from slipstream.local import execute_locally
from slipstream.serialization import LOCAL
from tests.unit.ir_builders import INT, branch_node, compare, key, task_node, task_spec, workflow_spec

MODULE = "tests.unit.sdk.test_engine"
CALLS: dict[str, int] = {}


def called(name: str) -> int:
    CALLS[name] = CALLS.get(name, 0) + 1
    return CALLS[name]


@task(retries=2)
def flaky(key: str, failures: int) -> str:
    attempt = called(key)
    if attempt <= failures:
        raise RuntimeError(f"failure {attempt}")
    return f"ok after {attempt}"


@workflow
def flaky_wf(key: str, failures: int) -> str:
    return flaky(key=key, failures=failures)


@task(retries=3)
def wrong_type(key: str) -> int:
    called(key)
    return "not an int"  # type: ignore[return-value]


@workflow
def wrong_type_wf(key: str) -> int:
    return wrong_type(key=key)


@task(cache=True, cache_version="1")
def square(x: int) -> int:
    called("square")
    return x * x


@task
def plain_square(x: int) -> int:
    called("plain_square")
    return x * x


@workflow
def cached_wf(x: int) -> tuple[int, int]:
    return square(x=x), plain_square(x=x)


@task
def inverse(x: int) -> float:
    return 1 / x


@workflow
def tolerant_map(xs: list[int]) -> list[Optional[float]]:
    return map_task(inverse, min_success_ratio=0.5)(x=xs)


@workflow
def strict_map(xs: list[int]) -> list[float]:
    return map_task(inverse)(x=xs)


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def sub(a: int) -> float:
    return inverse(x=add(a=a, b=1))


@task
def sub_input(a: int) -> int:
    return a


@workflow
def parent(a: int) -> float:
    return sub(a=sub_input(a=a))


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
    CALLS.pop("twice", None)
    run = execute_locally(flaky_wf, {"key": "twice", "failures": 2})
    assert run.python_outputs() == "ok after 3"
    assert [(r.node_id, r.phase, r.attempts) for r in run.records] == [("n0", "SUCCEEDED", 3)]


def test_a_task_that_fails_every_attempt_is_a_task_failure_naming_task_and_node():
    CALLS.pop("thrice", None)
    with pytest.raises(TaskFailedError, match=rf"^task \[{MODULE}\.flaky\] \(node \[n0\]\) failed after 3 attempts: "
                                              r"RuntimeError: failure 3$") as info:
        flaky_wf(key="thrice", failures=3)
    assert (info.value.node_id, info.value.kind) == ("n0", "user")
    assert "RuntimeError: failure 3" in info.value.traceback_tail
    assert CALLS["thrice"] == 3


def test_an_output_of_the_wrong_type_fails_at_once_without_retries():
    CALLS.pop("wrong", None)
    records: list[NodeRecord] = []
    with pytest.raises(TaskFailedError, match=r"wrong_type\] output \[o0\]: expected int, got 'not an int'") as info:
        execute_locally(wrong_type_wf, {"key": "wrong"}, on_event=records.append)
    assert info.value.node_id == "n0"
    assert CALLS["wrong"] == 1
    assert [(r.phase, r.attempts) for r in records] == [("FAILED", 1)]
    assert "expected int" in (records[0].error or "")


def test_the_second_run_of_a_cached_task_is_a_hit_and_says_so(local_cache):
    CALLS["square"] = CALLS["plain_square"] = 0
    first = execute_locally(cached_wf, {"x": 7}, cache=local_cache)
    second = execute_locally(cached_wf, {"x": 7}, cache=local_cache)
    assert first.outputs == second.outputs == {"o0": 49, "o1": 49}
    assert [(r.task, r.cache_hit) for r in first.records] == [(f"{MODULE}.square", False),
                                                              (f"{MODULE}.plain_square", False)]
    assert [(r.task, r.cache_hit, r.phase) for r in second.records] == [
        (f"{MODULE}.square", True, "SUCCEEDED"), (f"{MODULE}.plain_square", False, "SUCCEEDED")]
    assert second.records[0].attempts == 0  # served from the cache, never run
    assert (CALLS["square"], CALLS["plain_square"]) == (1, 2)
    execute_locally(cached_wf, {"x": 8}, cache=local_cache)
    assert CALLS["square"] == 2  # other inputs: a miss


def test_an_unreadable_cache_entry_is_a_miss(local_cache):
    CALLS["square"] = 0
    execute_locally(cached_wf, {"x": 3}, cache=local_cache)
    entries = list(Path(local_cache.root).rglob("*.json"))
    assert len(entries) == 1
    entries[0].write_text("{not json")
    run = execute_locally(cached_wf, {"x": 3}, cache=local_cache)
    assert run.records[0].cache_hit is False
    assert CALLS["square"] == 2


def test_the_local_cache_stores_outputs_by_key(tmp_path):
    cache = LocalCache(tmp_path)
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, {"o0": [1, "x"]})
    assert cache.get("ab" * 32) == {"o0": [1, "x"]}
    assert (tmp_path / "ab" / f"{'ab' * 32}.json").is_file()
    assert list(tmp_path.rglob("*.tmp")) == []


def test_the_cache_key_follows_flyte_identity():
    spec = square.to_spec(LOCAL)
    base = cache_key(spec, {"x": 1})
    new_version = copy.deepcopy(spec)
    new_version["id"]["version"] = "v2"
    assert cache_key(new_version, {"x": 1}) == base  # new code keeps its cache
    for change in ({"metadata": {**spec["metadata"], "cache_version": "2"}},
                   {"id": {**spec["id"], "project": "other"}},
                   {"interface": {**spec["interface"], "outputs": []}}):
        assert cache_key({**spec, **change}, {"x": 1}) != base
    assert cache_key(spec, {"x": 2}) != base


def test_a_map_task_tolerates_failures_down_to_its_ratio():
    run = execute_locally(tolerant_map, {"xs": [1, 0, 0, 4]})
    assert run.python_outputs() == [1.0, None, None, 0.25]
    assert [(r.node_id, r.phase) for r in run.records] == [
        ("n0[0]", "SUCCEEDED"), ("n0[1]", "FAILED"), ("n0[2]", "FAILED"), ("n0[3]", "SUCCEEDED")]
    assert "ZeroDivisionError" in (run.records[1].error or "")


def test_a_map_task_below_its_ratio_fails_naming_the_node_and_first_failure():
    with pytest.raises(TaskFailedError, match=r"^map task \[n0\]: 1 of 4 items succeeded, below min_success_ratio "
                                              r"0\.5; first failure: task \[.*inverse\] \(node \[n0\[0\]\]\)") as info:
        tolerant_map(xs=[0, 0, 0, 4])
    assert info.value.node_id == "n0"
    with pytest.raises(TaskFailedError, match=r"3 of 4 items succeeded, below min_success_ratio 1\.0"):
        strict_map(xs=[1, 2, 0, 4])
    assert strict_map(xs=[1, 2]) == [1.0, 0.5]


def test_subworkflow_nodes_are_recorded_under_their_parent_node():
    run = execute_locally(parent, {"a": 1})
    assert run.python_outputs() == 0.5
    assert [r.node_id for r in run.records] == ["n0", "n1/n0", "n1/n1"]


def test_a_failure_inside_a_subworkflow_names_the_full_node_path():
    with pytest.raises(TaskFailedError, match=r"inverse\] \(node \[n1/n1\]\) failed after 1 attempt: "
                                              r"ZeroDivisionError") as info:
        parent(a=-1)
    assert info.value.node_id == "n1/n1"


def test_files_and_directories_pass_between_tasks(tmp_path):
    assert files_wf(text="hello", folder=str(tmp_path)) == ("hello", 1)


def test_every_node_is_reported_as_it_ends():
    seen: list[tuple[str, str]] = []
    execute_locally(parent, {"a": 1}, on_event=lambda r: seen.append((r.node_id, r.phase)))
    assert seen == [("n0", "SUCCEEDED"), ("n1/n0", "SUCCEEDED"), ("n1/n1", "SUCCEEDED")]


# The engine on hand-written IR: tasks are found by the module and name their spec records, as in a pod.
DOUBLE = task_spec("double", {"x": INT}, {"o0": INT}, module=MODULE)


@task
def double(x: int) -> int:
    return 2 * x


def run_ir(nodes, tasks, inputs, outputs=None):
    compiled = compile_workflow(workflow_spec(nodes, outputs), tasks)
    return LocalEngine(cache=None).run(compiled, inputs)


def test_the_engine_runs_hand_written_ir_importing_its_tasks():
    assert import_task(DOUBLE) is double
    nodes = [task_node("n1", "double", {"x": {"promise": {"node": "n0", "output": "o0"}}}),
             task_node("n0", "double", {"x": {"input": "x"}})]
    outputs = {"o0": {"promise": {"node": "n1", "output": "o0"}}}
    assert run_ir(nodes, {key("double"): DOUBLE}, {"x": 3}, outputs) == {"o0": 12}


def test_a_task_that_cannot_be_imported_is_a_system_failure():
    missing = task_spec("gone", {"x": INT}, {"o0": INT}, module="no_such_module_here")
    with pytest.raises(TaskFailedError, match=r"^task \[gone\]: cannot import no_such_module_here\.gone") as info:
        run_ir([task_node("n0", "gone", {"x": {"input": "x"}})], {key("gone"): missing}, {"x": 1})
    assert info.value.kind == "system"


def test_a_branch_without_a_matching_case_and_else_fail_raises_execution_error():
    branch = branch_node("n0", [(compare(">", {"input": "x"}, {"value": 0}),
                                 task_node("n0-0", "double", {"x": {"input": "x"}}))], fail="x must be positive")
    assert run_ir([branch], {key("double"): DOUBLE}, {"x": 2}) == {"o0": 4}
    with pytest.raises(ExecutionError, match=r"^conditional \[b\] failed: x must be positive$") as info:
        run_ir([branch], {key("double"): DOUBLE}, {"x": -2})
    assert not isinstance(info.value, TaskFailedError)


def test_a_comparison_that_cannot_be_evaluated_is_an_execution_error():
    branch = branch_node("n0", [(compare("<", {"input": "x"}, {"value": None}),
                                 task_node("n0-0", "double", {"x": {"input": "x"}}))], fail="no")
    with pytest.raises(ExecutionError, match=r"^cannot compare 1 < None$"):
        run_ir([branch], {key("double"): DOUBLE}, {"x": 1})


def test_without_a_cache_of_its_own_a_run_uses_the_one_under_slipstream_home(slipstream_home):
    assert LocalCache.default().root == slipstream_home / "cache"
