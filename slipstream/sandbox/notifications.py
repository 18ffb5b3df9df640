"""The sandbox's record of every notification it would send, so a user sees what their team would get.

The status handler publishes exactly as on AWS (see chalicelib.notifications). The sandbox plays the
subscriber: one SQS queue of its own, subscribed to the events topic with the filter policy an e-mail
subscription would use (`kind = notification`) and, as they appear, to every other topic (an SNS target of
a launch plan is a topic the user owns). A worker drains the queue into `notifications.jsonl` in the
sandbox's home, one JSON object per message; `slipstream sandbox notifications` reads that file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slipstream.sandbox.recorders import QueueRecorder, read_lines

FILE_NAME = "notifications.jsonl"
QUEUE_NAME = "slipstream-sandbox-notifications"


class NotificationRecorder(QueueRecorder):
    receive_options = {"MessageAttributeNames": ["All"], "AttributeNames": ["All"]}

    def __init__(self, sqs: Any, sns: Any, events_topic_arn: str, path: Path) -> None:
        super().__init__("sandbox-notifications", sqs, QUEUE_NAME, path)
        self.sns = sns
        self.events_topic_arn = events_topic_arn
        self.subscribed: set[str] = set()
        self._subscribe(events_topic_arn, {"kind": ["notification"]})

    def _subscribe(self, topic_arn: str, filter_policy: dict[str, Any] | None = None) -> None:
        attributes: dict[str, str] = {}  # SNS's envelope: it names the topic and carries the subject
        if filter_policy:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self.queue_arn, Attributes=attributes)
        self.subscribed.add(topic_arn)

    def subscribe_new_topics(self) -> None:
        """Topics of the users' own SNS targets, as they are created (moto's account holds them all)."""
        for page in self.sns.get_paginator("list_topics").paginate():
            for topic in page["Topics"]:
                if topic["TopicArn"] not in self.subscribed:
                    self._subscribe(topic["TopicArn"])

    def step(self) -> None:
        self.subscribe_new_topics()
        self.pace(self.drain(wait_seconds=1))

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        return _record(message)


def _record(message: dict[str, Any]) -> dict[str, Any]:
    envelope = json.loads(message["Body"])
    email = (envelope.get("MessageAttributes") or {}).get("email", {}).get("Value")
    try:
        body = json.loads(envelope["Message"])
    except ValueError:
        body = {"text": envelope["Message"]}
    return {"to": json.loads(email) if email else None, "topic": envelope.get("TopicArn"),
            "subject": envelope.get("Subject"), "sent_at": envelope.get("Timestamp"),
            "phase": body.get("phase"), "execution": body.get("name"), "project": body.get("project"),
            "domain": body.get("domain"), "message": body}


def read_records(path: Path) -> list[dict[str, Any]]:
    return read_lines(path)
