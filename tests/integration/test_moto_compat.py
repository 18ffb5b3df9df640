"""slipstream.sandbox.moto_compat: each correction restores what AWS does, shown on the sandbox's moto."""

from __future__ import annotations

import contextlib
import json
import time
import uuid

ROLE = "arn:aws:iam::123456789012:role/sandbox"


def _start(sfn, definition: dict) -> str:
    arn = sfn.create_state_machine(name=f"compat-{uuid.uuid4().hex[:12]}", definition=json.dumps(definition),
                                   roleArn=ROLE)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=arn)["executionArn"]


def _ended(sfn, execution: str) -> dict:
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        time.sleep(0.05)
    return described


def _callback(queue_url: str, **extra) -> dict:
    return {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True,
            "Parameters": {"QueueUrl": queue_url, "MessageBody": {"tok.$": "$$.Task.Token"}}, **extra}


def test_states_errors_of_branches_and_callbacks_stay_what_they_are(sandbox):
    # a wide fan-out's heartbeat timeout used to surface as States.Runtime "Custom Error Names MUST NOT…"
    sfn, sqs = sandbox.client("stepfunctions"), sandbox.client("sqs")
    queue = sqs.create_queue(QueueName=f"compat-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    branch = {"StartAt": "R", "States": {"R": _callback(queue, TimeoutSeconds=1)}}  # nobody answers
    timed_out = _start(sfn, {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [branch], "End": True}}})
    answered = _start(sfn, {"StartAt": "R", "States": {"R": _callback(queue)}})
    tokens = []
    while len(tokens) < 2:
        tokens += [json.loads(m["Body"])["tok"] for m in sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
    for token in tokens:  # a group's child execution failed with a States.* error: its parent token says so
        with contextlib.suppress(sfn.exceptions.ClientError):  # the Parallel's, if it timed out already
            sfn.send_task_failure(taskToken=token, error="States.Timeout", cause="the child timed out")
    assert (_ended(sfn, timed_out)["status"], _ended(sfn, timed_out).get("error")) == ("FAILED", "States.Timeout")
    assert (_ended(sfn, answered)["status"], _ended(sfn, answered).get("error")) == ("FAILED", "States.Timeout")


def test_executions_of_one_definition_share_its_parse_and_keep_their_own_state(sandbox):
    # the parsed program is kept per definition: two executions at once, each mapping its own items through
    # the same JSONPaths, must still end with their own outputs
    from slipstream.sandbox import moto_compat

    sfn = sandbox.client("stepfunctions")
    item = {"StartAt": "Twice", "States": {"Twice": {"Type": "Pass", "End": True,
                                                      "Parameters": {"v.$": "$.v", "tag.$": "$.tag"}}}}
    definition = json.dumps({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": True,
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **item}}}})
    machine = sfn.create_state_machine(name=f"compat-{uuid.uuid4().hex[:12]}", definition=definition,
                                       roleArn=ROLE)["stateMachineArn"]
    parsed = moto_compat._program.cache_info().hits
    runs = {tag: sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex, input=json.dumps(
        {"tag": tag, "items": list(range(n))}))["executionArn"] for tag, n in (("a", 3), ("b", 5))}
    outputs = {tag: json.loads(_ended(sfn, arn)["output"]) for tag, arn in runs.items()}
    assert outputs == {"a": [{"v": i, "tag": "a"} for i in range(3)], "b": [{"v": i, "tag": "b"} for i in range(5)]}
    assert moto_compat._program.cache_info().hits > parsed  # the second execution did not parse it again


def test_watch_executions_tells_of_each_start_and_of_each_end_once_it_is_complete(sandbox):
    from slipstream.sandbox import moto_compat

    sfn, told = sandbox.client("stepfunctions"), []
    backend = __import__("moto.stepfunctions.parser.models", fromlist=["x"])
    unwatch = moto_compat.watch_executions(lambda arn: told.append(_status_in_moto(backend, arn)))
    try:
        arn = _start(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Mine", "Cause": "why"}}})
        _ended(sfn, arn)
        deadline = time.monotonic() + 30  # only stops a hung test
        while sum(1 for a, *_ in told if a == arn) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        unwatch()
    ours = [t for t in told if t[0] == arn]
    assert len(ours) == 2, ours  # told of its start and of its end
    assert ours[1] == (arn, "FAILED", "Mine")  # the end, once complete: status and error both there
    # the start is told once its thread started; on a loaded machine that thread may end before the tell is read
    assert ours[0][1] in ("RUNNING", "FAILED"), ours


def _status_in_moto(models, arn: str) -> tuple:
    """The execution as moto holds it when the watcher is told (not through its API: that is what the sandbox
    does next)."""
    for backend in models.stepfunctions_parser_backends.values():
        for region in backend.values():
            for machine in region.state_machines:
                for execution in machine.executions:
                    if execution.exec_arn == arn:
                        return arn, execution.exec_status.value, execution.error
    return arn, None, None


def test_sends_skip_counting_the_queue_yet_attributes_and_fifo_deduplication_are_unchanged(sandbox):
    sqs = sandbox.client("sqs")
    standard = sqs.create_queue(QueueName=f"sends-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=standard, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    sqs.send_message(QueueUrl=standard, MessageBody="last")
    received = sqs.receive_message(QueueUrl=standard, MaxNumberOfMessages=3, VisibilityTimeout=60)["Messages"]
    counts = sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["All"])["Attributes"]
    assert (len(received), counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) \
        == (3, "8", "3")
    fifo = sqs.create_queue(QueueName=f"sends-{uuid.uuid4().hex[:8]}.fifo",
                            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):  # the same body twice: content-based deduplication keeps one
        sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g")
    assert sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"
