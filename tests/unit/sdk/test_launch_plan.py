"""LaunchPlan: a workflow with default and fixed inputs, a schedule and notifications, checked against
the workflow when it is created and runnable locally."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import pytest

from chalicelib.compiler import check_launch_plan
from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import check_spec_shape
from slipstream import (
    SNS,
    CronSchedule,
    Email,
    FixedRate,
    LaunchPlan,
    WorkflowExecutionPhase,
    task,
    workflow,
)
from slipstream.local import execute_locally
from slipstream.serialization import LOCAL, SerializationSettings, serialize

PREFIX = "tests.unit.sdk.test_launch_plan"


@task
def greet(name: str, greeting: str, day: Optional[dt.date]) -> str:
    return f"{greeting}, {name}" + (f" ({day.isoformat()})" if day else "")


@workflow
def greeting(name: str, greeting: str = "Hello", day: Optional[dt.date] = None) -> str:
    return greet(name=name, greeting=greeting, day=day)


@workflow
def timed(started: dt.datetime, name: str = "cron") -> str:
    return greet(name=name, greeting="At", day=None)


default_plan = LaunchPlan.get_or_create(greeting)
nightly = LaunchPlan.create(
    "nightly_greeting", greeting, fixed_inputs={"name": "ops"},
    default_inputs={"greeting": "Good night", "day": dt.date(2024, 1, 1)},
    schedule=CronSchedule("0 22 * * *"),
    notifications=[Email([WorkflowExecutionPhase.FAILED], ["oncall@example.com"]),
                   SNS(["SUCCEEDED", "TIMED_OUT"], "arn:aws:sns:us-east-1:123456789012:done")],
)
every_five_minutes = LaunchPlan.create("every_five_minutes", timed,
                                       schedule=FixedRate(dt.timedelta(minutes=5), kickoff_time_input_arg="started"))


def test_the_default_plan_is_named_after_its_workflow_and_runs_it():
    assert default_plan.name == f"{PREFIX}.greeting"
    assert default_plan.workflow is greeting
    assert repr(default_plan) == f"LaunchPlan({PREFIX}.greeting → {PREFIX}.greeting)"
    assert default_plan(name="you") == "Hello, you"
    assert default_plan.dependencies() == [greeting]


def test_the_spec_holds_inputs_as_json_schedule_and_notifications():
    spec = nightly.to_spec(SerializationSettings("proj", "production", "v3"))
    check_spec_shape(spec)
    assert spec["id"]["name"] == "nightly_greeting"
    assert spec["workflow"] == {"project": "proj", "domain": "production", "name": f"{PREFIX}.greeting",
                                "version": "v3"}
    assert spec["fixed_inputs"] == {"name": "ops"}
    assert spec["default_inputs"] == {"greeting": "Good night", "day": "2024-01-01"}
    assert spec["schedule"] == {"cron": "0 22 * * *", "kickoff_time_input": None}
    assert spec["notifications"] == [
        {"phases": ["FAILED"], "email": ["oncall@example.com"]},
        {"phases": ["SUCCEEDED", "TIMED_OUT"], "sns_topic_arn": "arn:aws:sns:us-east-1:123456789012:done"}]
    check_launch_plan(spec, greeting.to_spec(SerializationSettings("proj", "production", "v3")))


def test_a_fixed_rate_is_a_whole_number_of_seconds_with_its_kickoff_input():
    spec = every_five_minutes.to_spec(LOCAL)
    check_spec_shape(spec)
    assert spec["schedule"] == {"rate_seconds": 300, "kickoff_time_input": "started"}


def test_plans_are_registered_after_their_workflow_and_tasks():
    kinds = [(s["kind"], s["id"]["name"]) for s in serialize([nightly], LOCAL)]
    assert kinds == [("task", f"{PREFIX}.greet"), ("workflow", f"{PREFIX}.greeting"),
                     ("launch_plan", "nightly_greeting")]


def test_running_a_plan_applies_fixed_then_given_then_plan_defaults_then_workflow_defaults():
    assert nightly() == "Good night, ops (2024-01-01)"
    assert nightly(greeting="Bye") == "Bye, ops (2024-01-01)"
    assert nightly(day=None) == "Good night, ops"
    run = execute_locally(nightly, {})
    assert run.outputs == {"o0": "Good night, ops (2024-01-01)"}


def test_a_fixed_input_cannot_be_given():
    with pytest.raises(ValidationError, match=rf"^workflow \[{PREFIX}\.greeting\]: inputs \['name'\] are fixed by "
                                              r"the launch plan and cannot be given$"):
        nightly(name="someone")


def test_a_plan_takes_keyword_arguments_only():
    with pytest.raises(ValidationError, match=r"^launch plan \[nightly_greeting\] takes keyword arguments only$"):
        nightly("someone")


@pytest.mark.parametrize("options, error, message", [
    ({"fixed_inputs": {"nme": "x"}}, ValidationError,
     rf"^launch plan \[lp\]: fixed inputs \['nme'\] are not inputs of workflow \[{PREFIX}\.greeting\]; its inputs "
     r"are \['name', 'greeting', 'day'\]$"),
    ({"default_inputs": {"zz": 1}}, ValidationError, r"launch plan \[lp\]: default inputs \['zz'\] are not inputs"),
    ({"fixed_inputs": {"greeting": 3}}, TypeMismatchError,
     r"^launch plan \[lp\] fixed input \[greeting\]: expected str, got 3$"),
    ({"default_inputs": {"day": "2024-01-01"}}, TypeMismatchError, r"default input \[day\]: expected Optional\[date\]"),
    ({"fixed_inputs": {"name": "a"}, "default_inputs": {"name": "b"}}, ValidationError,
     r"^launch plan \[lp\]: inputs \['name'\] are both fixed and defaulted; keep one$"),
    ({"schedule": CronSchedule("0 * * * *")}, ValidationError,
     r"^launch plan \[lp\] has a schedule but no value for inputs \['name'\]; give them as fixed or default inputs$"),
    ({"fixed_inputs": {"name": "a"}, "schedule": CronSchedule("every night")}, ValidationError,
     r"cron \[every night\] must have 5 fields \(minute hour day month weekday\)"),
    ({"fixed_inputs": {"name": "a"}, "schedule": FixedRate(dt.timedelta(seconds=90))}, ValidationError,
     r"^FixedRate \[0:01:30\] must be a whole number of minutes, at least one$"),
    ({"fixed_inputs": {"name": "a"}, "schedule": FixedRate(dt.timedelta(seconds=30))}, ValidationError,
     r"FixedRate \[0:00:30\]"),
    ({"fixed_inputs": {"name": "a"}, "schedule": CronSchedule("@daily", kickoff_time_input_arg="greeting")},
     ValidationError, r"kickoff_time_input \[greeting\] must name a datetime input"),
    ({"notifications": [Email(["NOPE"], ["a@example.com"])]}, ValidationError,
     r"^notification phase \[NOPE\] must be one of \['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'\]$"),
])
def test_plans_that_do_not_fit_the_workflow_are_refused_naming_the_plan(options, error, message):
    with pytest.raises(error, match=message):
        LaunchPlan.create("lp", greeting, **options)


def test_a_plan_needs_a_workflow():
    with pytest.raises(ValidationError, match=rf"^launch plan \[lp\] needs a @workflow, not PythonTask\({PREFIX}\."
                                              r"greet\)$"):
        LaunchPlan("lp", greet)  # type: ignore[arg-type]


def test_a_kickoff_input_counts_as_given():
    plan = LaunchPlan.create("hourly", timed, schedule=CronSchedule("@hourly", kickoff_time_input_arg="started"))
    assert plan.to_spec(LOCAL)["schedule"] == {"cron": "@hourly", "kickoff_time_input": "started"}
    assert plan(started=dt.datetime(2024, 1, 1)) == "At, cron"


@pytest.mark.parametrize("bad", [0, -1, 10_001, 1.5, True, "4"])
def test_max_parallelism_must_be_a_whole_number_from_1(bad):
    with pytest.raises(ValidationError, match=r"max_parallelism \[.*\] must be a whole number from 1 to 10000"):
        LaunchPlan.get_or_create(_parallel_wf, name="capped", max_parallelism=bad)


def test_max_parallelism_is_in_the_spec_only_when_given():
    capped = LaunchPlan.get_or_create(_parallel_wf, name="capped", max_parallelism=3).to_spec(LOCAL)
    check_spec_shape(capped)
    assert capped["max_parallelism"] == 3
    assert "max_parallelism" not in LaunchPlan.get_or_create(_parallel_wf).to_spec(LOCAL)  # old specs unchanged


@task
def _inc(x: int) -> int:
    return x + 1


@workflow
def _parallel_wf(x: int = 1) -> int:
    return _inc(x=x)
