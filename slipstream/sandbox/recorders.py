"""The sandbox's recorders: a worker that plays a user's subscriber with an SQS queue of its own and appends
what arrives to a JSON-lines file in the sandbox's home, which a `slipstream sandbox …` command reads."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from slipstream.sandbox.workers import _Worker

RECEIVE_MAX = 10  # SQS ReceiveMessage returns at most ten messages
GATHER_SECONDS = 0.5


class QueueRecorder(_Worker):
    receive_options: dict[str, Any] = {}  # more of receive_message's parameters, if the record needs them

    def __init__(self, name: str, sqs: Any, queue_name: str, path: Path) -> None:
        super().__init__(name)
        self.sqs = sqs
        self.path = path
        self._lock = threading.Lock()
        self.queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url,
                                                  AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The line to keep of one SQS message."""
        raise NotImplementedError

    def step(self) -> None:
        self.pace(self.drain(wait_seconds=1))

    def pace(self, recorded: int) -> None:
        """After a partial batch, let the next messages gather before receiving again: a running chain sends
        a few events per node, and receiving each as it came cost a receive and a delete per event, a fifth
        of the sandbox's calls per node. A record is at most this late; a full batch is followed at once."""
        if 0 < recorded < RECEIVE_MAX:
            self.stopping.wait(GATHER_SECONDS)

    def drain(self, wait_seconds: int = 0) -> int:
        """Record what the queue holds; returns how many messages were recorded."""
        batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=RECEIVE_MAX,
                                         WaitTimeSeconds=wait_seconds, **self.receive_options).get("Messages", [])
        lines = [json.dumps(self.record(m)) for m in batch]
        if lines:
            with self._lock, self.path.open("a") as out:
                out.write("".join(f"{line}\n" for line in lines))
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return len(batch)


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
