"""The sandbox's record of every phase change event on its bus, so a user sees what their automation would get.

The control plane puts the events on the stack's EventBridge bus exactly as on AWS (chalicelib.events). The
sandbox plays a user's automation: a rule on that bus matching `source = slipstream`, targeting an SQS queue
of its own. A worker drains the queue into `events.jsonl` in the sandbox's home, one JSON object per event as
EventBridge delivered it (in delivery order: sort by sequence and rank for the order of the changes);
`slipstream sandbox events` reads that file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.events import SOURCE
from slipstream.sandbox.recorders import QueueRecorder, read_lines

FILE_NAME = "events.jsonl"
QUEUE_NAME = "slipstream-sandbox-events"
RULE_NAME = "slipstream-sandbox-events"


class EventRecorder(QueueRecorder):
    def __init__(self, sqs: Any, events: Any, bus_name: str, path: Path) -> None:
        super().__init__("sandbox-events", sqs, QUEUE_NAME, path)
        events.put_rule(Name=RULE_NAME, EventBusName=bus_name, EventPattern=json.dumps({"source": [SOURCE]}),
                        State="ENABLED", Description="The sandbox records every phase change event")
        events.put_targets(Rule=RULE_NAME, EventBusName=bus_name,
                           Targets=[{"Id": "recorder", "Arn": self.queue_arn}])

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        return _record(json.loads(message["Body"]))


def _record(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    execution = detail.get("execution") or {}
    return {"id": detail.get("id"), "type": event.get("detail-type"), "project": execution.get("project"),
            "domain": execution.get("domain"), "execution": execution.get("name"), "node": detail.get("node"),
            "phase": detail.get("phase"), "previous_phase": detail.get("previous_phase"),
            "rank": detail.get("rank"), "sequence": detail.get("sequence"), "time": detail.get("time"),
            "event": event}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The recorded events in the order of their changes: by sequence (the µs of the write), then rank."""
    return sorted(read_lines(path), key=lambda r: (r.get("sequence") or 0, r.get("rank") or 0))
