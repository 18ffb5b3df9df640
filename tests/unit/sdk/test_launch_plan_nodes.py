"""Launch plans called inside a workflow, as in flytekit: the plan's workflow runs with the plan's fixed and
default inputs, the caller's arguments override defaults (never fixed inputs), and `>>` orders plans and tasks.
The expected values are flytekit 1.x's for the same code (flytekit runs the plan as a child execution)."""

import pytest

from chalicelib.errors import ValidationError
from slipstream import LaunchPlan, task, workflow
from slipstream.serialization import LOCAL

LOG: list[str] = []


@task
def scale(x: int, factor: int) -> int:
    LOG.append(f"scale {x}x{factor}")
    return x * factor


@task
def mark(label: str) -> None:
    LOG.append(f"mark {label}")


@workflow
def scaled(x: int, factor: int) -> int:
    return scale(x=x, factor=factor)


by_ten = LaunchPlan.get_or_create(scaled, "by_ten", fixed_inputs={"factor": 10}, default_inputs={"x": 4})
doubled = LaunchPlan.get_or_create(scaled, "doubled", default_inputs={"x": 1, "factor": 2})


@workflow
def plans(y: int) -> tuple[int, int, int]:
    first = mark(label="first")
    a = by_ten()
    b = by_ten(x=y)
    c = doubled(factor=y)
    first >> a
    return a, b, c


def test_a_launch_plan_in_a_workflow_runs_with_its_saved_inputs():
    LOG.clear()
    assert plans(y=3) == (40, 30, 3)  # flytekit 1.16: (40, 30, 3)
    assert LOG.index("mark first") < LOG.index("scale 4x10")
    spec = plans.to_spec(LOCAL)
    kinds = [(n["kind"], n["workflow"]["name"] if n["kind"] == "workflow" else None) for n in spec["nodes"]]
    assert kinds[1:] == [("workflow", "tests.unit.sdk.test_launch_plan_nodes.scaled")] * 3
    assert spec["nodes"][1]["inputs"] == {"x": {"value": 4}, "factor": {"value": 10}}
    assert spec["nodes"][1]["upstream"] == ["n0"]


def test_a_fixed_input_cannot_be_passed_to_the_plan():
    @workflow
    def overrides() -> int:
        return by_ten(x=1, factor=3)

    with pytest.raises(ValidationError, match=r"launch plan \[by_ten\]: inputs \['factor'\] are fixed"):
        overrides()  # flytekit refuses it too (fixed inputs cannot be overridden)
