"""The sandbox's worker threads: they play the event sources AWS would drive, calling the same handlers
as Lambda — SQS → dispatcher, Step Functions status changes → status handler."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from chalicelib.handlers import dispatch_batch, status_changed

logger = logging.getLogger("slipstream.sandbox")


class _Worker(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:  # keep the worker alive, as Lambda would retry
                logger.exception("%s failed a step", self.name)
                self.stopping.wait(0.5)

    def step(self) -> None:
        raise NotImplementedError


class DispatchWorker(_Worker):
    """SQS event source mapping: receive a batch, run the dispatcher, delete what succeeded."""

    def __init__(self, sqs: Any, queue_url: str, dispatcher: Any, name: str = "sandbox-dispatch") -> None:
        super().__init__(name)
        self.sqs = sqs
        self.queue_url = queue_url
        self.dispatcher = dispatcher

    def step(self) -> None:
        response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                            VisibilityTimeout=30, AttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs", "eventSourceARN": "", "awsRegion": "us-east-1",
        } for m in messages]}
        try:
            result = dispatch_batch(event, self.dispatcher)
        except Exception:  # every record failed (powertools raises then, as a Lambda would): all come back
            logger.exception("a dispatch batch failed whole")
            result = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages) if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
        if failed:  # let a failed message come back soon, not after the full visibility timeout
            for m in messages:
                if m["MessageId"] in failed:
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                       VisibilityTimeout=1)


class StatusPoller(_Worker):
    """EventBridge's "Step Functions Execution Status Change" rule, by polling the executions."""

    def __init__(self, sfn: Any, status: Any, interval: float = 0.2) -> None:
        super().__init__("sandbox-status")
        self.sfn = sfn
        self.status = status
        self.interval = interval
        self.seen: dict[str, str] = {}

    def step(self) -> None:
        for machine in self._machines():
            for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
                for execution in page["executions"]:
                    arn, status = execution["executionArn"], execution["status"]
                    if self.seen.get(arn) == status:
                        continue
                    self.status_event(arn)
                    self.seen[arn] = status
        self.stopping.wait(self.interval)

    def _machines(self) -> list[str]:
        return [m["stateMachineArn"] for page in self.sfn.get_paginator("list_state_machines").paginate()
                for m in page["stateMachines"]]

    def status_event(self, execution_arn: str) -> dict[str, Any]:
        """Build the EventBridge event of an execution's current status and hand it to the handler."""
        described = self.sfn.describe_execution(executionArn=execution_arn)
        detail = {key: described.get(key) for key in ("executionArn", "stateMachineArn", "name", "status", "input",
                                                      "output", "error", "cause")}
        event = {"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                 "detail": json.loads(json.dumps(detail, default=str))}
        status_changed(event, self.status)
        return event
