"""`.with_overrides(...)` on a call, as in flytekit: the node gets its own retries, timeout, cache, resources and
image; the compiled closure points the node at a task spec with them merged, which the ASL compiler and the pod
builder read (the task itself, and other calls of it, are unchanged)."""

import datetime as dt

import pytest

from chalicelib.compiler.plan import build_plan
from chalicelib.errors import ValidationError
from chalicelib.spec.entities import ref_key
from slipstream import Resources, conditional, map_task, task, workflow
from slipstream.serialization import LOCAL


@task(retries=1, requests=Resources(cpu="1", mem="1Gi"), container_image="base:1")
def add(a: int, b: int) -> int:
    return a + b


@workflow
def tuned(x: int) -> tuple[int, int]:
    plain = add(a=x, b=1)
    heavy = add(a=plain, b=2).with_overrides(retries=3, timeout=dt.timedelta(minutes=2), cache=True,
                                             cache_version="2", requests=Resources(cpu="4", gpu=1),
                                             container_image="gpu:2", name="heavy-add")
    return plain, heavy


def test_overrides_change_only_their_node():
    assert tuned(x=1) == (2, 4)  # flytekit 1.16: (2, 4); overrides never change values
    compiled = tuned.compile(LOCAL)
    plain, heavy = compiled.workflow["nodes"]
    base, derived = compiled.tasks[ref_key(plain["task"])], compiled.tasks[ref_key(heavy["task"])]
    assert base["metadata"]["retries"] == 1 and base["container"]["image"] == "base:1"
    assert heavy["task"]["name"] == plain["task"]["name"] and heavy["task"]["version"].startswith("local~")
    assert derived["metadata"] == {"cache": True, "cache_version": "2", "retries": 3, "timeout_seconds": 120,
                                  "interruptible": False}
    assert derived["container"]["requests"] == {"cpu": "4", "gpu": "1"}  # replaces the task's, as in flytekit
    assert derived["container"]["image"] == "gpu:2"
    assert tuned.to_spec(LOCAL)["nodes"][1]["overrides"]["name"] == "heavy-add"


def test_override_mistakes_are_named_when_the_workflow_is_built():
    @workflow
    def bad_retries(x: int) -> int:
        return add(a=x, b=1).with_overrides(retries=-1)

    @workflow
    def bad_option(x: int) -> int:
        return add(a=x, b=1).with_overrides(pod_template="x")

    with pytest.raises(ValidationError, match=r"override retries \[-1\] must be a whole number from 0 to 100"):
        bad_retries(x=1)
    with pytest.raises(ValidationError, match=r"with_overrides does not take \['pod_template'\]"):
        bad_option(x=1)


@task
def square(x: int) -> int:
    return x * x


@workflow
def nested(xs: list[int], y: int) -> tuple[list[int], int]:
    mapped = map_task(square)(x=xs).with_overrides(limits=Resources(mem="1Gi"))
    chosen = conditional("sign").if_(y > 0).then(square(x=y).with_overrides(retries=4)).else_().then(square(x=0))
    return mapped, chosen


def test_map_tasks_and_conditional_cases_take_overrides_too():
    assert nested(xs=[1, 2], y=3) == ([1, 4], 9)  # flytekit 1.16: ([1, 4], 9)
    plan = build_plan(nested.compile(LOCAL))
    mapped, branch = plan.nodes["n0"], plan.nodes["n1"]
    assert plan.tasks[mapped.task]["container"]["limits"] == {"mem": "1Gi"}
    case = branch.branch["cases"][0]["then"]
    assert plan.tasks[case["task"]]["metadata"]["retries"] == 4
    assert plan.tasks[branch.branch["else"]["task"]]["metadata"]["retries"] == 0
