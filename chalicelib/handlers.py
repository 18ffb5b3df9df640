"""Event handlers shared by Lambda (app.py) and the sandbox's worker threads: the same code on both. Each holds
a batch of phase change events open while it runs, so its changes go out in PutEvents calls of ten when it
returns or raises (chalicelib.events)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


def dispatch_batch(event: dict[str, Any], dispatcher: Any) -> dict[str, Any]:
    """An SQS batch: each message handled on its own; failures reported per item, so SQS redelivers only
    those (ReportBatchItemFailures)."""

    def handle(record: SQSRecord) -> None:
        dispatcher.handle(json.loads(record.body))

    with dispatcher.store.events.batch():
        return process_partial_response(event=event, record_handler=handle,
                                        processor=BatchProcessor(EventType.SQS))


def status_changed(event: dict[str, Any], status: Any) -> None:
    """An EventBridge "Step Functions Execution Status Change" event."""
    with status.store.events.batch():
        status.handle(event["detail"])
