"""Launch plans against their workflow, and the resolution of an execution's inputs (both engines and
the executions API resolve inputs here)."""

from __future__ import annotations

import pytest

from chalicelib.compiler import check_launch_plan, resolve_inputs
from chalicelib.errors import TypeMismatchError, UnknownReferenceError, ValidationError
from tests.unit.ir_builders import DATETIME, INT, STR, ident, launch_plan_spec, task_node, workflow_spec

WORKFLOW = workflow_spec([task_node("n0", "inc", {"x": {"input": "x"}})],
                         inputs={"x": INT, "when": DATETIME, "note": {"optional": STR}})


@pytest.mark.parametrize("fields", [
    {},
    {"fixed_inputs": {"x": 1}, "default_inputs": {"when": "2024-01-01"}, "schedule": {"cron": "0 * * * *"}},
    {"default_inputs": {"x": 2}, "schedule": {"cron": "@daily", "kickoff_time_input": "when"}},
    {"fixed_inputs": {"x": 1}, "schedule": {"rate_seconds": 300, "kickoff_time_input": "when"}},
    {"fixed_inputs": {"x": 1}, "schedule": {"cron": "*/5 9-17 ? JAN-MAR MON#1", "kickoff_time_input": "when"}},
    {"default_inputs": {"note": None, "when": "2024-01-01T00:00:00"}},
])
def test_plans_that_fit_their_workflow(fields):
    check_launch_plan(launch_plan_spec(**fields), WORKFLOW)


@pytest.mark.parametrize("fields, error, message", [
    ({"fixed_inputs": {"y": 1}}, UnknownReferenceError,
     r"^launch plan \[lp\]: fixed input \[y\] is not an input of workflow \[wf\]; its inputs are "
     r"\['note', 'when', 'x'\]$"),
    ({"default_inputs": {"y": 1}}, UnknownReferenceError, r"launch plan \[lp\]: default input \[y\] is not an input"),
    ({"fixed_inputs": {"x": "one"}}, TypeMismatchError,
     r"launch plan \[lp\] fixed input \[x\]: expected int, got 'one'"),
    ({"default_inputs": {"when": "noon"}}, TypeMismatchError, r"default input \[when\]: expected datetime"),
    ({"fixed_inputs": {"x": 1}, "default_inputs": {"x": 2}}, ValidationError,
     r"inputs \['x'\] are both fixed and defaulted; keep one"),
    ({"schedule": {"cron": "0 * * * *"}}, ValidationError,
     r"launch plan \[lp\] has a schedule but no value for inputs \['x', 'when'\]"),
    ({"fixed_inputs": {"x": 1}, "schedule": {"cron": "every minute"}}, ValidationError,
     r"cron \[every minute\] must have 5 fields"),
    ({"fixed_inputs": {"x": 1}, "schedule": {"cron": "0 * * *"}}, ValidationError, r"cron \[0 \* \* \*\] must have"),
    ({"fixed_inputs": {"x": 1}, "schedule": {"cron": "@fortnightly"}}, ValidationError, "must have 5 fields"),
    ({"fixed_inputs": {"x": 1}, "schedule": {"cron": "@daily", "kickoff_time_input": "x"}}, ValidationError,
     r"kickoff_time_input \[x\] must name a datetime input"),
    ({"fixed_inputs": {"x": 1}, "schedule": {"cron": "@daily", "kickoff_time_input": "nope"}}, ValidationError,
     r"kickoff_time_input \[nope\] must name a datetime input"),
    ({"workflow": ident("other")}, ValidationError, r"launch plan \[lp\] names workflow .*other"),
])
def test_plans_that_do_not_fit_are_refused_naming_the_input(fields, error, message):
    with pytest.raises(error, match=message):
        check_launch_plan(launch_plan_spec(**fields), WORKFLOW)


INPUTS = [{"name": "a", "type": INT}, {"name": "b", "type": STR, "default": "d"},
          {"name": "c", "type": {"optional": INT}}]


@pytest.mark.parametrize("given, options, expected", [
    ({"a": 1}, {}, {"a": 1, "b": "d", "c": None}),
    ({"a": 1, "b": "given", "c": 3}, {}, {"a": 1, "b": "given", "c": 3}),
    ({"a": 1}, {"defaults": {"b": "plan"}}, {"a": 1, "b": "plan", "c": None}),
    ({"a": 1, "b": "given"}, {"defaults": {"b": "plan"}}, {"a": 1, "b": "given", "c": None}),
    ({}, {"fixed": {"a": 5}}, {"a": 5, "b": "d", "c": None}),
    ({}, {"defaults": {"a": 7, "c": 1}}, {"a": 7, "b": "d", "c": 1}),
])
def test_given_over_plan_defaults_over_interface_defaults(given, options, expected):
    assert resolve_inputs(INPUTS, given, **options) == expected


@pytest.mark.parametrize("given, options, error, message", [
    ({"a": 1}, {"fixed": {"a": 5}}, ValidationError,
     r"^run: inputs \['a'\] are fixed by the launch plan and cannot be given$"),
    ({}, {}, ValidationError, r"^run: input \[a\] \(int\) is required; give a value$"),
    ({"a": 1, "z": 2, "y": 3}, {}, UnknownReferenceError, r"^run: unknown inputs \['y', 'z'\]; the inputs are "
                                                          r"\['a', 'b', 'c'\]$"),
    ({"a": "1"}, {}, TypeMismatchError, r"^run input \[a\]: expected int, got '1'$"),
    ({"a": 1, "c": "x"}, {}, TypeMismatchError, r"run input \[c\]: expected int, got 'x'"),
    ({}, {"defaults": {"a": 1.5}}, TypeMismatchError, r"run input \[a\]: expected int, got 1.5"),
])
def test_inputs_that_cannot_be_resolved_name_the_input(given, options, error, message):
    with pytest.raises(error, match=message):
        resolve_inputs(INPUTS, given, owner="run", **options)
