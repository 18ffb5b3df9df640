"""The sandbox's SQS event source keeps a batch invisible while its handler runs, however long it takes: a
message that came back mid-run was handled a second time by another worker (a gather chunk of a 10,000-item
map ran for minutes in a loaded sandbox and was redone from the start, twice)."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from slipstream.sandbox.workers import DispatchWorker

pytestmark = pytest.mark.integration


class SlowDispatcher:
    """Takes `seconds` over each message, counting how often each body was handled."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.handled: list[str] = []
        self.release = threading.Event()
        self.store = SimpleNamespace(events=SimpleNamespace(batch=contextlib.nullcontext))  # no phase events here

    def handle(self, message: dict[str, Any]) -> None:
        self.handled.append(json.dumps(message, sort_keys=True))
        self.release.wait(self.seconds)


class QuickVisibility(DispatchWorker):
    VISIBILITY_SECONDS = 1


def test_a_batch_stays_invisible_while_its_handler_runs_past_the_visibility_timeout(sandbox):
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName=f"worker-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    body = {"type": "noop", "id": uuid.uuid4().hex}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    dispatcher = SlowDispatcher(seconds=4.0)  # four visibility timeouts
    worker = QuickVisibility(sqs, url, dispatcher, name="test-dispatch")
    step = threading.Thread(target=worker.step)
    step.start()
    try:
        while not dispatcher.handled:
            threading.Event().wait(0.05)
        seen_again = []
        for _ in range(3):  # while the handler runs, past each visibility timeout, nothing is there to receive
            seen_again += sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=0).get("Messages", [])
    finally:
        step.join()
    assert seen_again == []
    assert dispatcher.handled == [json.dumps(body, sort_keys=True)]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    counts = (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"])
    assert counts == ("0", "0")  # deleted once handled
