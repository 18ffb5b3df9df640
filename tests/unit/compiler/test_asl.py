"""Plans and Amazon States Language: structure and limits. Behaviour is tested by executing the
machines (tests/e2e); here, what must hold for any workflow."""

from __future__ import annotations

import json

from bench.compile_asl import TASK, TASK_KEY, workflow
from chalicelib.compiler import compile_workflow
from chalicelib.compiler.asl import MAX_DEFINITION_BYTES, MAX_STATE_NAME, AslOptions, compile_asl, state_name
from chalicelib.compiler.plan import ExecutionPlan, build_plan
from slipstream.serialization import LOCAL


def _states(definition: dict) -> dict:
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_states(branch))
        if "ItemProcessor" in state:
            found.update(_states(state["ItemProcessor"]))
    return found


def test_every_node_is_a_parallel_branch_or_follows_its_only_dependency(examples_on_path):
    import graphs

    # n_shape: a, b; c = inc(a) (a's only dependent with one dependency: chained); d = add(a, b) (a join: W)
    machines = compile_asl(build_plan(graphs.n_shape.compile(LOCAL)))
    root = machines.definitions[machines.root]
    branches = {b["StartAt"]: b["States"] for b in root["States"]["Graph"]["Branches"]}
    assert set(branches) == {"R.n0", "R.n1", "W.n3"}
    assert list(branches["R.n0"]) == ["R.n0", "D.n0", "R.n2", "D.n2"]
    assert branches["R.n0"]["D.n0"]["Next"] == "R.n2" and branches["R.n0"]["D.n2"]["End"] is True
    assert branches["R.n0"]["D.n0"]["Parameters"]["MessageBody"]["c"] == "n2"  # D.n0 does not release n2
    assert branches["R.n0"]["R.n2"]["Parameters"]["MessageBody"]["q"] == 1  # the dispatcher records it QUEUED
    assert "q" not in branches["R.n0"]["R.n0"]["Parameters"]["MessageBody"]
    # when the attempt began: the dispatcher heartbeats a token whose message waited in a backed-up queue
    assert branches["R.n0"]["R.n2"]["Parameters"]["MessageBody"]["e.$"] == "$$.State.EnteredTime"
    assert list(branches["W.n3"]) == ["R.n3", "D.n3", "W.n3"]
    for states in branches.values():
        kinds = {s["Parameters"]["MessageBody"]["t"] for s in states.values()}
        assert kinds <= {"wait", "run", "done"} and "run" in kinds


def test_a_chain_needs_no_wait_states_but_a_split_chain_waits_across_groups():
    from tests.support.asl import asl_errors
    from tests.unit.compiler.asl_corpus import chain, plan_of

    plan = plan_of(chain(4))
    machines = compile_asl(plan)
    assert not asl_errors(machines.definitions)
    states = _states(machines.definitions[machines.root])
    assert not [name for name in states if name.startswith("W.")]
    assert [s.get("Parameters", {}).get("MessageBody", {}).get("t") for s in states.values()].count("run") == 4
    split = compile_asl(plan, AslOptions(max_nodes_per_machine=2))
    assert not asl_errors(split.definitions)
    waits = [n for d in split.definitions.values() for n in _states(d) if n.startswith("W.")]
    assert waits == ["W.n2"]  # n2 is in the second group: its dependency's branch is in another machine


def test_task_options_become_retry_timeout_and_heartbeat(examples_on_path):
    import reliability

    machines = compile_asl(build_plan(reliability.retried.compile(LOCAL)), AslOptions(timeout_slack_seconds=5))
    run = _states(machines.definitions[machines.root])["R.n0"]
    assert run["Retry"][0]["MaxAttempts"] == 2 and "slipstream.UserError" in run["Retry"][0]["ErrorEquals"]
    slow = compile_asl(build_plan(reliability.too_slow.compile(LOCAL)), AslOptions(timeout_slack_seconds=5))
    run = _states(slow.definitions[slow.root])["R.n0"]
    assert run["TimeoutSeconds"] == AslOptions().max_execution_seconds  # the pod enforces the task's own 2 s
    assert run["HeartbeatSeconds"] < run["TimeoutSeconds"]


def test_identical_workflows_share_one_machine_and_definitions_carry_no_deployment_names(examples_on_path):
    import hello

    first = compile_asl(build_plan(hello.my_wf.compile(LOCAL)))
    second = compile_asl(build_plan(hello.my_wf.compile(LOCAL)))
    assert first.root == second.root and first.root.startswith("slipstream_")
    text = json.dumps(first.definitions)
    assert "sqs." not in text and "amazonaws" not in text and '"QueueUrl.$": "$.q"' in text


def test_large_workflows_split_into_groups_under_the_limits():
    spec = workflow("chain", 600)
    machines = compile_asl(build_plan(compile_workflow(spec, {TASK_KEY: TASK})), AslOptions(max_nodes_per_machine=250))
    assert len(machines.definitions) == 1 + 3
    root = machines.definitions[machines.root]
    assert [b["States"][b["StartAt"]]["Parameters"]["MessageBody"]["t"]
            for b in root["States"]["Graph"]["Branches"]] == ["group"] * 3
    assert all(size < MAX_DEFINITION_BYTES for size in machines.sizes().values())
    assert all(len(name) <= MAX_STATE_NAME for d in machines.definitions.values() for name in _states(d))


def test_long_node_ids_get_short_unique_state_names():
    a, b = state_name("R", "n" + "x" * 100 + "a"), state_name("R", "n" + "x" * 100 + "b")
    assert len(a) <= MAX_STATE_NAME and len(b) <= MAX_STATE_NAME and a != b


def test_plans_inline_subworkflows_and_round_trip(examples_on_path):
    import subworkflows

    plan = build_plan(subworkflows.outer.compile(LOCAL))
    assert set(plan.nodes) == {"n0.n0", "n0.n1", "n0.n2", "n1", "n2", "n3"}
    assert plan.nodes["n0.n2"].deps == ["n0.n0", "n0.n1"]
    assert plan.outputs["o0"] == {"promise": {"node": "n0.n2", "output": "o0"}}
    assert ExecutionPlan.from_dict(json.loads(json.dumps(plan.to_dict()))).to_dict() == plan.to_dict()


def test_a_batched_map_iterates_over_batches_whose_runs_name_their_size(examples_on_path):
    import batched_map

    from tests.support.asl import asl_errors

    compiled = batched_map.batched_inverses.compile(LOCAL)
    assert compiled.workflow["nodes"][0]["batch_size"] == 10
    machines = compile_asl(build_plan(compiled))
    assert not asl_errors(machines.definitions)
    states = _states(machines.definitions[machines.root])
    for name in ("IR.n0", "DR.n0"):  # inline and distributed: each iteration is a batch from item $.i
        body = states[name]["Parameters"]["MessageBody"]
        assert body["b"] == 10 and body["i.$"] == "$.i"
