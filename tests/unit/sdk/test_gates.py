"""Gates in the SDK, the local engine and the compiler (slipstream.gates): the IR they produce, how a local run
answers them (--signal, a prompt, or a clear error), and the states they compile to."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from click.testing import CliRunner

from chalicelib.compiler.asl import AslOptions, compile_asl
from chalicelib.compiler.plan import build_plan
from chalicelib.errors import ExecutionError, TypeMismatchError, ValidationError
from chalicelib.spec.schema import check_spec_shape
from slipstream import approve, sleep, task, wait_for_input, workflow
from slipstream.gates import GateAnswers, parse_signal_options
from slipstream.local import execute_locally
from slipstream.serialization import LOCAL

HOUR = datetime.timedelta(hours=1)


@task
def make(n: int) -> list[int]:
    return list(range(n))


@task
def total(xs: list[int], bonus: int) -> int:
    return sum(xs) + bonus


@workflow
def gated(n: int = 3) -> int:
    pause = sleep(datetime.timedelta(seconds=90))
    xs = approve(make(n=n), "go", timeout=datetime.timedelta(minutes=5))
    bonus = wait_for_input("bonus", timeout=HOUR, expected_type=int)
    pause >> bonus
    return total(xs=xs, bonus=bonus)


def _run(given: dict[str, str], ask: Any = None, echoed: list[str] | None = None) -> Any:
    answers = GateAnswers(given, ask=ask, echo=(echoed if echoed is not None else []).append)
    return execute_locally(gated, {"n": 3}, gates=answers)


def test_gates_are_ir_nodes_the_schema_and_compiler_accept():
    spec = gated.to_spec(LOCAL)
    check_spec_shape(spec)
    gates = {n["name"]: n for n in spec["nodes"] if n["kind"] == "gate"}
    assert gates["sleep-gate"] == {"id": "n0", "kind": "gate", "upstream": [], "inputs": {}, "gate": "sleep",
                                   "name": "sleep-gate", "seconds": 90, "type": None}
    assert gates["go"]["inputs"] == {"value": {"promise": {"node": "n1", "output": "o0"}}}
    assert (gates["go"]["seconds"], gates["go"]["type"]) == (300, {"list": {"simple": "integer"}})
    assert (gates["bonus"]["type"], gates["bonus"]["upstream"]) == ({"simple": "integer"}, ["n0"])
    assert gated.compile(LOCAL).order[gated.compile(LOCAL).key]  # compiles


def test_a_local_run_takes_signals_given_ahead_and_passes_the_approved_value_on():
    echoed: list[str] = []
    execution = _run({"go": "yes", "bonus": "10"}, echoed=echoed)
    assert execution.outputs == {"o0": 13}
    assert any("sleeping 90s" in line for line in echoed)  # announced, not slept (as flytekit does locally)
    assert [r.phase for r in execution.records if r.task is None] == ["SUCCEEDED"] * 3


def test_a_local_run_asks_on_the_terminal_for_what_was_not_given():
    asked: list[str] = []
    execution = _run({"go": "y"}, ask=lambda question: asked.append(question) or "5")
    assert execution.outputs == {"o0": 8}
    assert asked == ["[input gate] bonus (int)"]


def test_a_rejected_approval_stops_a_local_run_naming_the_gate():
    with pytest.raises(ExecutionError, match=r"approval \[go\] \(node \[n2\]\) was rejected"):
        _run({"go": "no", "bonus": "1"})


def test_without_a_terminal_or_a_signal_the_error_names_the_gate_and_the_flag():
    with pytest.raises(ValidationError, match=r"gate \[bonus\].*--signal bonus=VALUE"):
        _run({"go": "yes"})


def test_a_signal_of_the_wrong_type_is_refused():
    with pytest.raises(TypeMismatchError, match=r"signal \[bonus\]"):
        _run({"go": "yes", "bonus": "ten"})
    with pytest.raises(ValidationError, match="NAME=VALUE"):
        parse_signal_options(["bonus"])


def test_slipstream_run_takes_signals():
    from slipstream.cli.main import cli

    result = CliRunner().invoke(cli, ["run", "--json", "--signal", "go=yes", "--signal", "bonus=2", __file__, "gated",
                                      "--n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == '{"o0": 3}'


def test_gates_are_refused_where_they_cannot_work():
    with pytest.raises(ValidationError, match="inside a @workflow"):
        sleep(datetime.timedelta(seconds=1))
    with pytest.raises(ValidationError, match="longer than zero"):
        @workflow
        def zero() -> None:
            sleep(datetime.timedelta(0))
        zero.compile(LOCAL)  # a body runs when first needed
    with pytest.raises(ValidationError, match="repeat a name"):
        @workflow
        def twice() -> int:
            wait_for_input("a", expected_type=int)
            return wait_for_input("a", expected_type=int)
        twice.compile(LOCAL)


def test_gates_compile_to_a_wait_state_and_callbacks_bounded_by_their_timeouts():
    plan = build_plan(gated.compile(LOCAL))
    machines = compile_asl(plan)
    states = {name: state for branch in machines.definitions[machines.root]["States"]["Graph"]["Branches"]
              for name, state in branch["States"].items()}
    assert states["S.n0"] == {"Type": "Wait", "Seconds": 90, "Next": "D.n0"}
    assert "r.$" not in states["D.n0"]["Parameters"]["MessageBody"]
    assert states["G.n2"]["TimeoutSeconds"] == 300 and states["G.n2"]["Parameters"]["MessageBody"]["t"] == "gate"
    assert states["G.n2"]["Catch"][0]["Next"] == "GF.n2" and states["G.n2"]["Next"] == "D.n2"
    assert states["GF.n2"]["Parameters"]["MessageBody"]["e.$"] == "$.e"
    assert states["W.n3"]["Next"] == "G.n3"  # the signal waits for the sleep it is ordered after
    with pytest.raises(ValidationError, match=r"gate \[bonus\] waits 3600s"):
        compile_asl(plan, AslOptions(max_execution_seconds=1800, max_pending_seconds=60, heartbeat_seconds=60,
                                     gather_timeout_seconds=60))
