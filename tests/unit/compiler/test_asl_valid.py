"""Every state machine slipstream compiles is one AWS accepts. moto runs definitions that AWS refuses, so
real checkers read them all (asl_corpus.py: examples, generated graphs, split workflows, heavy maps, a
dynamic task's graph): asl-validator in one node process, cfn-lint over them as CloudFormation
resources, and checks of what neither knows (unique names across item processors, error names, every
wait bounded)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.compiler.asl import AslOptions
from tests.support import asl as support_asl
from tests.support.asl import asl_errors
from tests.unit.compiler.asl_corpus import all_definitions

MAX_TIMEOUT_SECONDS = 99_999_999  # what Step Functions accepts in TimeoutSeconds / HeartbeatSeconds
CFN_LINT_SAMPLE = 120  # of the ~870 definitions: every example's variants and the first generated graphs


@pytest.fixture(scope="module")
def definitions(examples_on_path) -> dict[str, dict[str, Any]]:
    return all_definitions()


def _states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (name, state) of a definition, inside Parallel branches and Map item processors too."""
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"])


def test_the_corpus_holds_every_kind_of_definition(definitions):
    states = [s for d in definitions.values() for _, s in _states(d)]
    kinds = Counter(s["Parameters"]["MessageBody"]["t"] for s in states if s["Type"] == "Task")
    assert set(kinds) == {"wait", "run", "done", "gather", "gather_failed", "child", "group", "gate", "gate_failed"}
    assert any(s["Type"] == "Wait" for s in states)  # examples/gates.py's sleep
    assert {s["ItemProcessor"]["ProcessorConfig"]["Mode"] for s in states if s["Type"] == "Map"} == {
        "INLINE", "DISTRIBUTED"}
    assert any(s["Type"] == "Fail" for s in states) and any(s["Type"] == "Choice" and "And" in json.dumps(s)
                                                            for s in states)
    choices = {name for d in definitions.values() for name, s in _states(d) if s["Type"] == "Choice"}
    assert any(s["Type"] == "Choice" and {c["Next"] for c in s["Choices"]} & choices
               for s in states)  # examples/conditionals.py:nested, a conditional inside a case
    assert len(definitions) > 300


def test_asl_validator_accepts_every_definition(definitions):
    assert asl_errors(definitions) == {}


def test_state_names_are_unique_across_each_whole_definition(definitions):
    for label, definition in definitions.items():
        counts = Counter(name for name, _ in _states(definition))
        assert [n for n, c in counts.items() if c > 1] == [], label


def test_no_error_name_we_generate_starts_with_states_but_catch_all(definitions):
    for label, definition in definitions.items():
        for name, state in _states(definition):
            retried = [e for r in state.get("Retry", []) for e in r["ErrorEquals"]]
            caught = [e for c in state.get("Catch", []) for e in c["ErrorEquals"]]
            failed = [state["Error"]] if state["Type"] == "Fail" else []
            assert not [e for e in retried + failed if e.startswith("States.")], (label, name)
            assert not [e for e in caught if e.startswith("States.") and e != "States.ALL"], (label, name)


def test_every_task_state_and_every_definition_is_bounded_in_time(definitions):
    limit = AslOptions().max_execution_seconds
    for label, definition in definitions.items():
        assert definition["TimeoutSeconds"] == limit, label
        for name, state in _states(definition):
            if state["Type"] != "Task":
                continue
            if state.get("TimeoutSecondsPath"):  # a map's gather: bounded by the dispatcher, per map (gather_seconds)
                assert state["Parameters"]["MessageBody"]["t"] == "gather" and state["Catch"], (label, name)
                continue
            assert 1 <= state["TimeoutSeconds"] <= min(limit, MAX_TIMEOUT_SECONDS), (label, name)
            assert state.get("HeartbeatSeconds", 0) < state["TimeoutSeconds"], (label, name)


def test_cfn_lint_accepts_the_definitions_as_state_machine_resources(definitions):
    from cfnlint.api import ManualArgs, lint

    chosen: dict[str, dict[str, Any]] = {}  # machine name → definition: each label's root and first group,
    per_label: Counter[str] = Counter()  # examples first, then generated graphs (cfn-lint takes ~40 ms each)
    for key, definition in definitions.items():
        label, name = key.rsplit(" ", 1)
        if per_label[label] < 2 and name not in chosen and len(chosen) < CFN_LINT_SAMPLE:
            chosen[name] = definition
            per_label[label] += 1
    resources = {f"Machine{i}": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "StateMachineName": name, "StateMachineType": "STANDARD", "Definition": definition,
        "RoleArn": {"Ref": "RoleArn"}}} for i, (name, definition) in enumerate(sorted(chosen.items()))}
    template = {"AWSTemplateFormatVersion": "2010-09-09",
                "Parameters": {"RoleArn": {"Type": "String", "Description": "the role state machines run as"}},
                "Resources": resources}
    assert len(resources) == CFN_LINT_SAMPLE
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_the_validator_reports_what_aws_refuses(definitions):
    """The checker is live: a definition with the old shape (item states named R and F in both map
    processors) and a dangling Next are reported, by name, in the same call as a valid one."""
    label = next(k for k in definitions if k.startswith("map_reduce.py:inverses "))
    old_shape = copy.deepcopy(definitions[label])
    for _, state in _states(old_shape):
        if state["Type"] == "Map":
            processor = state["ItemProcessor"]
            run, failed = list(processor["States"])
            processor["States"] = {"R": processor["States"][run], "F": processor["States"][failed]}
            processor["StartAt"], processor["States"]["R"]["Catch"][0]["Next"] = "R", "F"
    dangling = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    found = asl_errors({"old": old_shape, "dangling": dangling, "valid": definitions[label]})
    assert set(found) == {"old", "dangling"}
    assert any("DUPLICATE_STATE_NAMES" in e and e.endswith(": R") for e in found["old"]), found
    assert any("MISSING_TRANSITION_TARGET" in e for e in found["dangling"]), found


def test_a_missing_validator_fails_the_test_and_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(support_asl, "ROOT", tmp_path)  # a checkout where `npm ci` never ran
    with pytest.raises(pytest.fail.Exception, match=r"run `npm ci` in the repo root"):
        asl_errors({"any": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}})
