"""One IR, two engines: every conditional operator over every comparable type gives the same answer in
Step Functions' Choice states (through the sandbox) as in the local engine, and the answer written here.

The workflows are tests/e2e/workflows/comparisons.py. Inputs sit on both sides of every boundary (just
below, equal, just above), so a swapped operator, a dropped `Not` around `!=` or a wrong comparison kind
changes a letter. All executions start at once and run concurrently in the session's sandbox."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.errors import ExecutionError, ValidationError
from slipstream import type_engine
from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.loader import load_file
from slipstream.local import execute_locally
from tests.e2e.conftest import TERMINAL, Runner

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows" / "comparisons.py"
VERSION = "conditionals-remote"
NOON = dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
# Stops a hung run only; all the executions normally end within a minute or two (more on a loaded machine).
DEADLINE_SECONDS = 600.0


@dataclass(frozen=True)
class Case:
    id: str
    workflow: str
    inputs: dict[str, Any]
    expected: dict[str, Any]  # the outputs, or {"error": message} for a run that must fail


def bits(letters: str) -> dict[str, Any]:
    """ "FTTTFF" → the outputs o0…o5 of a `*_ops` workflow (==, !=, <, <=, >, >=)."""
    return {f"o{i}": letter for i, letter in enumerate(letters)}


BELOW, EQUAL, ABOVE = bits("FTTTFF"), bits("TFFTFT"), bits("FTFFTT")

CASES = [
    Case("int-below", "int_ops", {"x": 4}, BELOW),
    Case("int-equal", "int_ops", {"x": 5}, EQUAL),
    Case("int-above", "int_ops", {"x": 6}, ABOVE),
    Case("float-below", "float_ops", {"a": 1.7499999, "b": 1.75}, BELOW),
    Case("float-equal", "float_ops", {"a": 1.75, "b": 1.75}, EQUAL),
    Case("float-above", "float_ops", {"a": 1.7500001, "b": 1.75}, ABOVE),
    Case("int-vs-float-constant", "mixed_ops", {"x": 3}, ABOVE),
    Case("str-prefix-below", "str_ops", {"s": "mang"}, BELOW),
    Case("str-equal", "str_ops", {"s": "mango"}, EQUAL),
    Case("str-above", "str_ops", {"s": "mangp"}, ABOVE),
    Case("bool-false-true", "bool_ops", {"a": False, "b": True}, BELOW),
    Case("bool-true-true", "bool_ops", {"a": True, "b": True}, EQUAL),
    Case("bool-true-false", "bool_ops", {"a": True, "b": False}, ABOVE),
    Case("bool-false-vs-constant-true", "bool_const_ops", {"a": False}, BELOW),
    Case("bool-true-vs-constant-true", "bool_const_ops", {"a": True}, EQUAL),
    Case("date-below", "date_ops", {"d": dt.date(2024, 2, 28)}, BELOW),
    Case("date-equal", "date_ops", {"d": dt.date(2024, 2, 29)}, EQUAL),
    Case("date-above", "date_ops", {"d": dt.date(2024, 3, 1)}, ABOVE),
    Case("datetime-below", "datetime_ops", {"a": NOON - MICROSECOND, "b": NOON}, BELOW),
    Case("datetime-equal-other-zone", "datetime_ops",
         {"a": NOON.astimezone(dt.timezone(dt.timedelta(hours=-5))), "b": NOON}, EQUAL),
    Case("datetime-above", "datetime_ops", {"a": NOON + MICROSECOND, "b": NOON}, ABOVE),
    Case("duration-below", "duration_ops", {"t": dt.timedelta(hours=12) - dt.timedelta(milliseconds=1)}, BELOW),
    Case("duration-equal", "duration_ops", {"t": dt.timedelta(minutes=720)}, EQUAL),
    Case("duration-above", "duration_ops", {"t": dt.timedelta(hours=12, seconds=1)}, ABOVE),
    Case("constant-on-the-left", "reversed_ops", {"x": 4}, ABOVE),
    Case("none-is-none", "none_ops", {"x": None}, {"o0": "T", "o1": "T", "o2": "F"}),
    Case("zero-is-not-none", "none_ops", {"x": 0}, {"o0": "F", "o1": "F", "o2": "T"}),
    Case("optional-both-none", "optional_pair", {"x": None, "y": None}, {"o0": "T", "o1": "F"}),
    Case("optional-none-vs-five", "optional_pair", {"x": None, "y": 5}, {"o0": "F", "o1": "T"}),
    Case("optional-five-vs-five", "optional_pair", {"x": 5, "y": 5}, {"o0": "T", "o1": "F"}),
    Case("and-both", "both_either", {"a": 1, "b": 1}, {"o0": "both"}),
    Case("or-left", "both_either", {"a": 1, "b": 0}, {"o0": "one"}),
    Case("or-right", "both_either", {"a": 0, "b": 1}, {"o0": "one"}),
    Case("or-neither", "both_either", {"a": 0, "b": 0}, {"o0": "none"}),
    Case("nested-above-range", "nested", {"a": 11, "b": 0, "word": "go"}, {"o0": "GO"}),
    Case("nested-b-three", "nested", {"a": 10, "b": 3, "word": "go"}, {"o0": "GO"}),
    Case("nested-in-range", "nested", {"a": 0, "b": 0, "word": "go"}, {"o0": "go"}),
    Case("nested-stop-word", "nested", {"a": -1, "b": 3, "word": "stop"}, {"o0": "stop"}),
    Case("nested-inner-if", "nested_conditions", {"x": 11, "y": -1}, {"o0": "negative"}),
    Case("nested-inner-else", "nested_conditions", {"x": 11, "y": 0}, {"o0": "positive"}),
    Case("nested-outer-else", "nested_conditions", {"x": 10, "y": -1}, {"o0": "none"}),
    Case("sign-positive", "sign", {"x": 1e-9}, {"o0": "positive"}),
    Case("sign-negative", "sign", {"x": -1e-9}, {"o0": "negative"}),
    Case("sign-zero-fails", "sign", {"x": 0.0}, {"error": "conditional [sign] failed: x must not be zero"}),
    Case("grade-retake-first", "grade", {"score": 95, "passed": False}, {"o0": "retake"}),
    Case("grade-90", "grade", {"score": 90, "passed": True}, {"o0": "A"}),
    Case("grade-89", "grade", {"score": 89, "passed": True}, {"o0": "B"}),
    Case("grade-75", "grade", {"score": 75, "passed": True}, {"o0": "B"}),
    Case("grade-61", "grade", {"score": 61, "passed": True}, {"o0": "C"}),
    Case("grade-60", "grade", {"score": 60, "passed": True}, {"o0": "D"}),
]


@pytest.fixture(scope="module")
def comparisons() -> Any:
    """The workflows' module, imported as registration names it (`comparisons.<workflow>`)."""
    return load_file(WORKFLOWS)


@pytest.fixture(scope="module")
def remote(api_config, comparisons) -> tuple[Runner, dict[str, dict[str, Any]]]:
    """Register the workflows, start every case, then wait for all: (runner, case id → execution, ended
    unless it hung; each test then reports its own case, stuck nodes included)."""
    client = ApiClient(api_config)
    specs, _ = build_registration(client, [str(WORKFLOWS)], "default", "development", VERSION)
    client.register(specs)
    runner = Runner(client, VERSION)
    warmed = runner.run(comparisons.warm.name, {})  # fills the cache of the branches' tasks
    assert warmed["phase"] == "SUCCEEDED", warmed.get("error")
    names = {}
    for case in CASES:
        workflow = getattr(comparisons, case.workflow)
        inputs = {n: type_engine.to_json(v, workflow.interface.inputs[n]) for n, v in case.inputs.items()}
        names[case.id] = runner.start(workflow.name, inputs)["id"]["name"]
    return runner, _wait_all(runner, names)


def _wait_all(runner: Runner, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    end = time.monotonic() + DEADLINE_SECONDS
    found: dict[str, dict[str, Any]] = {}
    while True:
        for case_id, name in names.items():
            if found.get(case_id, {}).get("phase") not in TERMINAL:
                found[case_id] = runner.client.get_execution("default", "development", name)
        if all(e["phase"] in TERMINAL for e in found.values()) or time.monotonic() > end:
            return found
        time.sleep(0.5)


def _local(comparisons: Any, case: Case) -> dict[str, Any]:
    try:
        return execute_locally(getattr(comparisons, case.workflow), case.inputs).outputs
    except ExecutionError as exc:
        return {"error": str(exc)}


def _remote(runner: Runner, execution: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(outputs, or {"error": message} for a failed run; a description of the run for failure messages)."""
    name = execution["id"]["name"]
    open_nodes = {node_id: (node["phase"], node.get("error")) for node_id, node in runner.nodes(name).items()
                  if node["phase"] != "SUCCEEDED"}
    described = (f"execution {name} is {execution['phase']} with error {execution.get('error')}; "
                 f"nodes not succeeded (phase, error): {open_nodes}")
    if execution["phase"] == "SUCCEEDED":
        return execution["outputs"], described
    return {"error": (execution.get("error") or {}).get("message")}, described


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_remote_conditional_agrees_with_local_and_expected(case: Case, comparisons, remote):
    runner, executions = remote
    local = _local(comparisons, case)
    assert local == case.expected, f"the local engine: {local}"
    outputs, described = _remote(runner, executions[case.id])
    assert outputs == case.expected, described
    if "error" in case.expected:
        assert executions[case.id]["phase"] == "FAILED", described


def test_ordering_against_none_fails_locally_and_is_refused_remotely(comparisons, remote):
    runner, _ = remote
    with pytest.raises(ExecutionError, match=r"cannot compare None < None"):
        execute_locally(comparisons.none_order, {"x": None})
    with pytest.raises(ValidationError, match=r"compares with None using \[<\].*use == None, != None or is_none"):
        runner.start(comparisons.none_order.name, {"x": None})


def test_every_workflow_in_the_file_has_a_case(comparisons):
    from slipstream.workflow import Workflow

    defined = {name for name, value in vars(comparisons).items() if isinstance(value, Workflow)}
    assert defined == {case.workflow for case in CASES} | {"none_order", "warm"}
