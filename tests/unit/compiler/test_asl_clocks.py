"""The clock model and the names of compiled machines: every wait bounded (R by the task's timeout plus
the time a pod may stay Pending, W and C by an execution's longest life, G briefly), no `States.*` error
names, deployment-scoped machine names and item state names unique per map and mode."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.compiler.asl import (
    MAX_MACHINE_NAME,
    SEND_TIMEOUT_SECONDS,
    AslOptions,
    StateMachines,
    check_task_timeout,
    compile_asl,
)
from chalicelib.config import Settings
from chalicelib.errors import ValidationError
from chalicelib.executions import asl_options
from tests.unit.compiler.asl_corpus import TASKS, _node, _promise, chain, generated_closure, plan_of
from tests.unit.compiler.test_asl import _states

OPTIONS = AslOptions(heartbeat_seconds=45, timeout_slack_seconds=7, max_pending_seconds=600,
                     max_execution_seconds=86_400, gather_timeout_seconds=120)


def _all_states(machines: StateMachines) -> dict[str, dict[str, Any]]:
    return {name: state for d in machines.definitions.values() for name, state in _states(d).items()}


def _two_maps_and_a_fan_in() -> StateMachines:
    nodes = [_node("n0", "inc", {"x": {"input": "xs"}}, mapped="x"), _node("n1", "inc", {"x": {"input": "xs"}},
                                                                            mapped="x"),
             _node("n2", "total", {"values": _promise("n0")}), _node("n3", "add", {"a": _promise("n2"),
                                                                                   "b": {"input": "x"}})]
    return compile_asl(plan_of(generated_closure("maps", nodes, "n3")), OPTIONS)


def test_run_states_leave_the_task_timeout_to_the_pod_and_heartbeat_as_configured():
    # a task's timeout counts from its pod's start (the pod enforces it); waiting to be scheduled or for a
    # free slot is the control plane's to bound, so a run state waits as long as the execution may
    states = _all_states(_two_maps_and_a_fan_in())
    for name in ("R.n2", "R.n3", "IR.n0", "DR.n0"):  # gen.total: 30 s; gen.add: none; gen.inc: 600 s
        assert states[name]["TimeoutSeconds"] == 86_400 and states[name]["HeartbeatSeconds"] == 45, name


def test_waits_children_and_gathers_are_bounded_and_each_definition_is_too():
    states = _all_states(_two_maps_and_a_fan_in())
    assert states["W.n2"]["TimeoutSeconds"] == 86_400  # n3 follows its only dependency n2: no W of its own
    # a map's gather: bounded per map by the dispatcher's answer to W (its size), its failure caught into GF
    assert states["G.n0"]["TimeoutSecondsPath"] == "$.m.g" and "TimeoutSeconds" not in states["G.n0"]
    assert states["G.n0"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "GF.n0"}]
    assert states["GF.n0"]["TimeoutSeconds"] == 120
    assert states["GF.n0"]["Parameters"]["MessageBody"]["t"] == "gather_failed"
    assert states["D.n3"]["TimeoutSeconds"] == SEND_TIMEOUT_SECONDS
    split = compile_asl(plan_of(chain(3)), dataclasses.replace(OPTIONS, max_nodes_per_machine=1))
    groups = [s for s in _all_states(split).values() if s.get("Parameters", {}).get("MessageBody", {}).get("t")
              == "group"]
    assert len(groups) == 3 and {s["TimeoutSeconds"] for s in groups} == {86_400}
    assert {d["TimeoutSeconds"] for d in split.definitions.values()} == {86_400}


def test_a_dynamic_tasks_child_state_waits_as_long_as_an_execution(examples_on_path):
    import dynamic_fanout

    from slipstream.serialization import LOCAL

    states = _all_states(compile_asl(plan_of(dynamic_fanout.squares.compile(LOCAL).closure()), OPTIONS))
    assert states["C.n0"]["TimeoutSeconds"] == 86_400 and states["C.n0"]["Next"] == "D.n0"


def test_retries_name_only_our_errors():
    states = _all_states(_two_maps_and_a_fan_in())
    retry = states["R.n2"]["Retry"]  # gen.total: no user retries, interruptible
    assert retry == [{"ErrorEquals": ["slipstream.SystemError"], "MaxAttempts": 0 + 2 + 2, "IntervalSeconds": 1,
                      "BackoffRate": 2.0}]
    user, system = states["IR.n0"]["Retry"]  # gen.inc: retries=2
    assert user["ErrorEquals"] == ["slipstream.UserError", "slipstream.Timeout"] and user["MaxAttempts"] == 2
    assert system["ErrorEquals"] == ["slipstream.SystemError"]
    assert states["IR.n0"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "IF.n0", "ResultPath": "$.error"}]


def test_item_states_are_named_by_node_and_mode():
    states = _all_states(_two_maps_and_a_fan_in())
    inline, distributed = states["M.n0"]["ItemProcessor"], states["DM.n0"]["ItemProcessor"]
    assert inline["StartAt"] == "IR.n0" and set(inline["States"]) == {"IR.n0", "IF.n0"}
    assert distributed["StartAt"] == "DR.n0" and set(distributed["States"]) == {"DR.n0", "DF.n0"}
    assert set(states["M.n1"]["ItemProcessor"]["States"]) == {"IR.n1", "IF.n1"}


def test_a_task_timeout_beyond_what_an_execution_can_bound_is_refused():
    limit = OPTIONS.max_task_timeout_seconds
    assert limit == 86_400 - 600 - 7
    at_limit = {**TASKS["inc"], "metadata": {**TASKS["inc"]["metadata"], "timeout_seconds": limit}}
    check_task_timeout(at_limit, limit)
    above = {**TASKS["inc"], "metadata": {**TASKS["inc"]["metadata"], "timeout_seconds": limit + 1}}
    with pytest.raises(ValidationError, match=rf"task \[gen.inc\] has a timeout of {limit + 1}s, above the maximum "
                                              rf"of {limit}s"):
        check_task_timeout(above, limit)
    plan = plan_of(chain(2))
    plan.tasks = {key: above for key in plan.tasks}
    with pytest.raises(ValidationError, match=r"gen.inc"):
        compile_asl(plan, OPTIONS)


def test_machines_are_named_with_the_deployment_prefix_and_groups_are_started_by_those_names():
    plan = plan_of(chain(4))
    prefix = "p" * 32
    machines = compile_asl(plan, AslOptions(name_prefix=prefix, max_nodes_per_machine=2))
    assert len(machines.definitions) == 3 and next(iter(machines.definitions)) == machines.root
    assert all(n.startswith(prefix + "_") and len(n) <= MAX_MACHINE_NAME for n in machines.definitions)
    started = [s["Parameters"]["MessageBody"]["g"] for s in _all_states(machines).values()
               if s.get("Parameters", {}).get("MessageBody", {}).get("t") == "group"]
    assert sorted(started) == sorted(n for n in machines.definitions if n != machines.root)
    other = compile_asl(plan, AslOptions(name_prefix="stage-b", max_nodes_per_machine=2))
    assert other.root.startswith("stage-b_") and set(other.definitions).isdisjoint(machines.definitions)


@pytest.mark.parametrize("changes, named", [
    ({"name_prefix": "p" * 33}, "prefix"), ({"name_prefix": "two words"}, "prefix"), ({"name_prefix": ""}, "prefix"),
    ({"name_prefix": "-dash"}, "prefix"), ({"max_execution_seconds": 366 * 86_400}, "max_execution_seconds"),
    ({"max_pending_seconds": 7 * 86_400}, "max_pending_seconds"), ({"gather_timeout_seconds": 0}, "gather"),
])
def test_options_that_aws_could_not_honour_are_refused(changes, named):
    with pytest.raises(ValidationError, match=named):
        AslOptions(**changes)


def test_settings_carry_every_option_and_a_stack_names_its_machines():
    settings = dataclasses.replace(Settings.for_stack("stage-a"), max_pending_seconds=60, max_execution_seconds=3600,
                                   gather_timeout_seconds=30, heartbeat_seconds=20, timeout_slack_seconds=5)
    options = asl_options(settings)
    assert (options.name_prefix, options.max_pending_seconds, options.max_execution_seconds,
            options.gather_timeout_seconds, options.heartbeat_seconds, options.timeout_slack_seconds) == (
        "stage-a", 60, 3600, 30, 20, 5)
    assert options.max_task_timeout_seconds == 3600 - 60 - 5
    env = {f"SLIPSTREAM_{k.upper()}": "x" for k in ("projects_table", "entities_table", "executions_table",
                                                  "node_executions_table", "task_cache_table", "data_bucket",
                                                  "dispatch_queue_url", "events_topic_arn")}
    from_env = Settings.from_env({**env, "SLIPSTREAM_NAME_PREFIX": "stack-c", "SLIPSTREAM_MAX_PENDING_SECONDS": "90"})
    assert asl_options(from_env).name_prefix == "stack-c" and asl_options(from_env).max_pending_seconds == 90
