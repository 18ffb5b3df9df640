"""Notification targets: their checks in the SDK and at registration, and the message an ended execution sends."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib.errors import ValidationError
from chalicelib.notifications import attributes, build_message, check_notifications, subject, text
from slipstream import SNS, Email, LaunchPlan, PagerDuty, Slack, WorkflowExecutionPhase, task, workflow

FAILED = WorkflowExecutionPhase.FAILED
ARN = "arn:aws:sns:eu-west-1:123456789012:team-alerts"


@task
def step(x: int) -> int:
    return x


@workflow
def notified(x: int = 1) -> int:
    return step(x=x)


def test_flytekits_three_targets_are_email_addresses_with_their_kind():
    assert Email(phases=[FAILED], recipients_email=["a@example.com"]).to_spec() == {
        "phases": ["FAILED"], "email": ["a@example.com"]}
    assert Slack(phases=["SUCCEEDED"], recipients_email=["c@acme.slack.com"]).to_spec()["kind"] == "slack"
    assert PagerDuty(phases=[FAILED], recipients_email=["s@acme.pagerduty.com"]).to_spec()["kind"] == "pagerduty"
    assert SNS(phases=[FAILED], topic_arn=ARN).to_spec() == {"phases": ["FAILED"], "sns_topic_arn": ARN}


@pytest.mark.parametrize(("make", "named"), [
    (lambda: Email(phases=["DONE"], recipients_email=["a@example.com"]), "DONE"),
    (lambda: Slack(phases=[FAILED], recipients_email=["not-an-address"]), "not-an-address"),
    (lambda: PagerDuty(phases=[FAILED], recipients_email=["a@b"]), "a@b"),
    (lambda: Email(phases=[FAILED], recipients_email=[]), "recipients_email"),
    (lambda: Email(phases=[], recipients_email=["a@example.com"]), "phases"),
    (lambda: SNS(phases=[FAILED], topic_arn="arn:aws:sqs:eu-west-1:123456789012:q"), "arn:aws:sqs"),
    (lambda: SNS(phases=[FAILED], topic_arn="team-alerts"), "team-alerts"),
])
def test_the_sdk_refuses_bad_targets_naming_them_and_the_plan(make, named):
    with pytest.raises(ValidationError) as raised:
        LaunchPlan.create("alerting", notified, notifications=[make()])
    assert named in str(raised.value)


@pytest.mark.parametrize(("notification", "named"), [
    ({"phases": ["RUNNING"], "email": ["a@example.com"]}, "RUNNING"),
    ({"phases": ["FAILED"], "email": ["a@@example.com"]}, "a@@example.com"),
    ({"phases": ["FAILED"], "kind": "pager", "email": ["a@example.com"]}, "pager"),
    ({"phases": ["FAILED"], "sns_topic_arn": "arn:aws:sns:us-east-1:1234:t"}, "arn:aws:sns:us-east-1:1234:t"),
])
def test_registration_refuses_what_the_sdk_would(notification, named):
    with pytest.raises(ValidationError) as raised:
        check_notifications("launch plan [p]", [notification])
    assert named in str(raised.value) and "launch plan [p]" in str(raised.value)


def test_the_message_says_what_ended_when_for_how_long_and_how_to_look():
    started = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    message = build_message({
        "project": "acme", "domain": "production", "name": "e1", "workflow": {"name": "wf", "version": "v1"},
        "launch_plan": {"name": "nightly", "version": "v1"}, "started_at": started,
        "ended_at": started + dt.timedelta(seconds=90.5)}, "FAILED", {"code": "x", "message": "boom"})
    assert message["duration_seconds"] == 90.5 and message["started_at"] == started.isoformat()
    assert message["inspect"] == "slipstream get execution e1 -p acme -d production"
    body = text(message)
    assert "boom" in body and "nightly (v1)" in body and "90.5 s" in body and message["inspect"] in body
    assert len(subject({**message, "name": "e" * 200})) == 100
    routed = attributes(message, "notification", ["a@example.com"])
    assert routed["kind"]["StringValue"] == "notification"
    assert json.loads(routed["email"]["StringValue"]) == ["a@example.com"]
