"""Executions end to end through the sandbox: the compiled state machines run in moto's Step Functions,
the dispatcher drives SQS callbacks, and every task runs as a local process built from its pod spec."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from chalicelib.errors import ConflictError, ValidationError

pytestmark = pytest.mark.e2e


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def test_seed_example_runs_remotely_with_node_records(runner):
    execution = runner.run("hello.my_wf", {"a": 50, "b": "hello"})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": 52, "o1": "helloworld"}
    assert execution["inputs"] == {"a": 50, "b": "hello"}
    nodes = runner.nodes(execution["id"]["name"])
    assert {n: v["phase"] for n, v in nodes.items()} == {"n0": "SUCCEEDED", "n1": "SUCCEEDED"}
    assert nodes["n0"]["task"]["name"] == "hello.t1" and nodes["n0"]["attempts"] == 1
    assert _time(nodes["n0"]["ended_at"]) <= _time(nodes["n1"]["started_at"])


def test_diamond(runner):
    assert runner.run("graphs.diamond", {"x": 1})["outputs"] == {"o0": 4}


def test_n_shape_starts_c_without_waiting_for_slow_b(runner):
    execution = runner.run("graphs.n_shape", {"x": 1, "delay": 3.0})
    assert execution["outputs"] == {"o0": 2, "o1": 2}
    nodes = runner.nodes(execution["id"]["name"])
    a, b, c, d = (nodes[n] for n in ("n0", "n1", "n2", "n3"))
    assert _time(c["started_at"]) < _time(b["ended_at"]), "c waited for b: a false dependency"
    assert _time(c["started_at"]) >= _time(a["ended_at"])
    assert _time(d["started_at"]) >= _time(b["ended_at"])


def test_retries_rerun_a_failing_task(runner, tmp_path):
    execution = runner.run("reliability.retried", {"marker_dir": str(tmp_path)})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": "succeeded on attempt 3"}
    assert runner.nodes(execution["id"]["name"])["n0"]["attempts"] == 3


def test_timeout_fails_the_execution(runner):
    execution = runner.run("reliability.too_slow", {"seconds": 30.0})
    assert execution["phase"] in ("FAILED", "TIMED_OUT")
    assert "timed out" in execution["error"]["message"] or "timeout" in execution["error"]["message"]
    node = runner.nodes(execution["id"]["name"])["n0"]
    assert node["phase"] in ("TIMED_OUT", "FAILED")


def test_user_error_is_surfaced_with_its_message(runner):
    execution = runner.run("reliability.user_error", {"message": "the input was bad"})
    assert execution["phase"] == "FAILED"
    assert "ValueError: the input was bad" in execution["error"]["message"]
    node = runner.nodes(execution["id"]["name"])["n0"]
    assert node["phase"] == "FAILED"
    assert node["error"]["kind"] == "user" and "raise ValueError(message)" in node["error"]["traceback"]


def test_second_run_of_a_cached_task_is_a_cache_hit(runner):
    first = runner.run("reliability.cached", {"x": 12})
    second = runner.run("reliability.cached", {"x": 12})
    assert first["outputs"] == second["outputs"] == {"o0": 144}
    assert runner.nodes(first["id"]["name"])["n0"]["cache_hit"] is False
    hit = runner.nodes(second["id"]["name"])["n0"]
    assert hit["cache_hit"] is True and hit["pod"] is None


def test_conditional_takes_the_right_branch_and_fail_stops_the_run(runner):
    assert runner.run("conditionals.scale", {"x": 30.0})["outputs"] == {"o0": "scaled: 15.0"}
    failed = runner.run("conditionals.scale", {"x": -1.0})
    assert failed["phase"] == "FAILED"
    assert failed["error"]["message"] == "conditional [scale] failed: x must not be negative"


def test_map_task_tolerates_failures_within_min_success_ratio(runner):
    execution = runner.run("map_reduce.inverses", {"xs": [0, 1, 2, 4]})
    assert execution["outputs"] == {"o0": 3}
    nodes = runner.nodes(execution["id"]["name"])
    assert nodes["n0.0"]["phase"] == "FAILED"
    assert all(nodes[f"n0.{i}"]["phase"] == "SUCCEEDED" for i in (1, 2, 3))


def test_map_task_fails_below_min_success_ratio(runner):
    execution = runner.run("map_reduce.strict_inverses", {"xs": [0, 1, 2]})
    assert execution["phase"] == "FAILED"
    assert "1 of 3" not in execution["error"]["message"]
    assert "2 of 3 items succeeded" in execution["error"]["message"]


def test_subworkflow_lists_and_ordering(runner):
    execution = runner.run("subworkflows.outer", {"x": 3.0})
    assert execution["outputs"] == {"o0": 7.0, "o1": "HELLO FLYTE users"}
    nodes = runner.nodes(execution["id"]["name"])
    assert {"n0.n0", "n0.n1", "n0.n2"} <= set(nodes)  # the subworkflow's nodes, inlined
    assert _time(nodes["n0.n2"]["started_at"]) >= _time(nodes["n0.n1"]["ended_at"])  # announce >> predict
    logs = runner.client.logs("default", "development", execution["id"]["name"], "n0.n1")
    assert "predicting" in logs


def test_dynamic_workflow_runs_the_graph_it_builds(runner):
    execution = runner.run("dynamic_fanout.squares", {"n": 4})
    assert execution["outputs"] == {"o0": 14}
    nodes = runner.nodes(execution["id"]["name"])
    children = [n for n in nodes if n.startswith("n0/")]
    assert len(children) == 5  # four squares and the sum, under the dynamic node


def test_files_and_directories_pass_between_tasks(runner):
    execution = runner.run("files.file_flow", {"n": 7, "parts": 2})
    assert execution["outputs"] == {"o0": 7, "o1": 2}


def test_launch_plan_applies_fixed_and_default_inputs(runner):
    execution = runner.wait(runner.client.create_execution({
        "project": "default", "domain": "development", "launch_plan": {"name": "nightly_greeting", "version": "e2e"},
        "inputs": {"at": "2024-03-04T05:06:07"}})["id"]["name"])
    assert execution["outputs"] == {"o0": "Good night, ops (2024-03-04)"}
    with pytest.raises(ValidationError, match="fixed"):
        runner.client.create_execution({"project": "default", "domain": "development",
                                        "launch_plan": {"name": "nightly_greeting", "version": "e2e"},
                                        "inputs": {"name": "someone"}})


def test_bad_inputs_are_refused_before_anything_runs(runner):
    with pytest.raises(ValidationError, match=r"input \[a\]"):
        runner.start("hello.my_wf", {"a": "fifty", "b": "hello"})
    with pytest.raises(ValidationError, match="required"):
        runner.start("hello.my_wf", {"b": "hello"})


def test_execution_name_makes_creation_idempotent(runner):
    first = runner.start("hello.my_wf", {"a": 1, "b": "x"}, name="same-name-twice")
    again = runner.start("hello.my_wf", {"a": 1, "b": "x"}, name="same-name-twice")
    assert again["id"] == first["id"]
    assert runner.wait("same-name-twice")["outputs"] == {"o0": 3, "o1": "xworld"}
    with pytest.raises(ConflictError, match="choose another name"):
        runner.start("hello.my_wf", {"a": 2, "b": "x"}, name="same-name-twice")


def test_terminate_stops_the_execution_and_its_pods(runner, sandbox):
    name = runner.start("graphs.n_shape", {"x": 1, "delay": 60.0})["id"]["name"]
    node = runner.wait_node(name, "n1", "RUNNING")
    process, _request = sandbox.launcher.processes[node["pod"]]
    result = runner.client.terminate("default", "development", name)
    assert result["phase"] == "ABORTED"
    process.wait(timeout=10)
    assert process.returncode != 0
    assert runner.wait(name)["phase"] == "ABORTED"
    with pytest.raises(ConflictError, match="already ended"):
        runner.client.terminate("default", "development", name)


def test_relaunch_runs_again_with_the_same_inputs(runner):
    original = runner.run("hello.my_wf", {"a": 5, "b": "again"})
    relaunched = runner.client.relaunch("default", "development", original["id"]["name"])
    assert relaunched["id"]["name"] != original["id"]["name"]
    assert runner.wait(relaunched["id"]["name"])["outputs"] == original["outputs"]


def test_a_duplicated_dispatch_message_starts_no_second_pod(runner, sandbox):
    name = runner.start("graphs.n_shape", {"x": 1, "delay": 4.0})["id"]["name"]
    node = runner.wait_node(name, "n1", "RUNNING")
    pod = sandbox.launcher.pods[node["pod"]]
    token = sandbox.launcher.processes[node["pod"]][1].task_token  # the pod spec holds only a secretKeyRef
    assert token not in str(pod.metadata.annotations) and token not in [e.value for e in pod.spec.containers[0].env]
    execution_key = pod.metadata.annotations["slipstream.dev/execution"]
    sqs = sandbox.client("sqs")
    duplicate = {"x": execution_key, "t": "run", "n": "n1", "a": 0, "tok": token}
    sqs.send_message(QueueUrl=sandbox.settings.dispatch_queue_url, MessageBody=json.dumps(duplicate))
    _drain(sqs, sandbox.settings.dispatch_queue_url)
    started = [n for n, (_p, r) in sandbox.launcher.processes.items()
               if r.execution == execution_key and r.node_id == "n1"]
    assert started == [node["pod"]]
    ended = runner.wait(name)
    assert ended["phase"] == "SUCCEEDED", ended.get("error")
    assert runner.nodes(name)["n1"]["attempts"] == 1


def test_a_duplicated_status_event_changes_nothing(runner, sandbox):
    from slipstream.sandbox.workers import StatusPoller

    events = _subscribe(sandbox)
    execution = runner.run("hello.my_wf", {"a": 9, "b": "dup"})
    arn = sandbox.services.executions.store.get("default", "development", execution["id"]["name"]).sfn_execution_arn
    poller = StatusPoller(sandbox.client("stepfunctions"), sandbox.services.status)
    poller.status_event(arn)
    poller.status_event(arn)
    again = runner.client.get_execution("default", "development", execution["id"]["name"])
    assert again == execution
    published = [m for m in _messages(sandbox, events) if m["name"] == execution["id"]["name"]]
    assert [m["phase"] for m in published] == ["SUCCEEDED"]


def test_list_executions_newest_first_and_filtered(runner):
    failed = runner.run("reliability.user_error", {"message": "listing"})
    ok = runner.run("hello.my_wf", {"a": 3, "b": "list"})
    listed = runner.client.list_executions("default", "development", limit=2)["executions"]
    assert [e["id"]["name"] for e in listed] == [ok["id"]["name"], failed["id"]["name"]]
    only_failed = runner.client.list_executions("default", "development", phase="FAILED")["executions"]
    assert failed["id"]["name"] in {e["id"]["name"] for e in only_failed}
    assert all(e["phase"] == "FAILED" for e in only_failed)
    by_workflow = runner.client.list_executions("default", "development", workflow="hello.my_wf")["executions"]
    assert by_workflow and all(e["workflow"]["name"] == "hello.my_wf" for e in by_workflow)


def _drain(sqs, queue_url: str, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
            return
        time.sleep(0.1)
    raise AssertionError("the dispatch queue never drained")


def _subscribe(sandbox) -> str:
    sqs, sns = sandbox.client("sqs"), sandbox.client("sns")
    url = sqs.create_queue(QueueName=f"events-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=sandbox.settings.events_topic_arn, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    return url


def _messages(sandbox, url: str) -> list[dict]:
    sqs = sandbox.client("sqs")
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not batch:
            return found
        found += [json.loads(m["Body"]) for m in batch]


def test_a_batched_map_runs_its_items_in_few_pods_each_item_with_its_own_outcome(runner):
    execution = runner.run("batched_map.batched_inverses", {"xs": list(range(50))})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"]["o0"] == [None] + [1 / x for x in range(1, 50)]
    nodes = runner.nodes(execution["id"]["name"])
    # one record per batch (its pod's), none per item: the failed item is listed on its batch and on the map
    assert {n for n in nodes if n.startswith("n0.")} == {f"n0.{i}" for i in range(0, 50, 10)}
    assert all(nodes[f"n0.{i}"]["pod"] for i in range(0, 50, 10))  # 5 pods
    assert nodes["n0.0"]["phase"] == "FAILED"  # its batch's other nine items succeeded all the same
    assert [item["index"] for item in nodes["n0.0"]["error"]["items"]] == [0]
    assert all(nodes[f"n0.{i}"]["phase"] == "SUCCEEDED" for i in range(10, 50, 10))
    assert nodes["n0"]["items"] == {"count": 50, "succeeded": 49, "failed": 1, "failed_items": [0], "batch_size": 10}
