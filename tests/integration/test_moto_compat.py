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
