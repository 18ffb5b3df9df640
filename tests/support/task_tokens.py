"""A real Step Functions task token to hand a task process: a one-state machine waiting on
`sqs:sendMessage.waitForTaskToken`, as every task node of a compiled workflow does."""

from __future__ import annotations

import json
import uuid
from typing import Any


def waiting_task_token(sqs: Any, sfn: Any, label: str) -> tuple[str, str]:
    """(execution ARN, task token) of a new execution waiting on one callback task."""
    suffix = f"{label}-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=suffix)["QueueUrl"]
    definition = {"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True,
        "Parameters": {"QueueUrl": queue, "MessageBody": {"tok.$": "$$.Task.Token"}}}}}
    machine = sfn.create_state_machine(name=suffix, definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::123456789012:role/{label}")
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")["executionArn"]
    for _ in range(120):  # bounded: the interpreter sends the message within moments
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return execution, json.loads(messages[0]["Body"])["tok"]
    raise AssertionError("the state machine never sent its task token")
