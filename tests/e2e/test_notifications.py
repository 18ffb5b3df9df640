"""Notifications go out on the phases a launch plan asks for, once per execution, however often its status
event arrives. Every terminal phase goes to the deployment's events topic (one generic message); a launch
plan's notifications (an e-mail: the same topic with an `email` attribute; a topic of its own) only on the
phases it names. Queues of our own, subscribed to both topics on the sandbox's moto, receive what SNS
delivers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.loader import load_file
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows" / "notified.py"
VERSION = "notifications"
PLAN = "notified_on_failure"
DEADLINE_SECONDS = 60.0  # stops a hung test only


@pytest.fixture(scope="module")
def notified() -> Any:
    return load_file(WORKFLOWS)


@pytest.fixture(scope="module")
def topics(sandbox, notified) -> dict[str, str]:
    """Queues subscribed to the events topic and to the launch plan's own topic, created first."""
    created = sandbox.client("sns").create_topic(Name=notified.FAILURES_TOPIC.rsplit(":", 1)[-1])["TopicArn"]
    assert created == notified.FAILURES_TOPIC, "the sandbox's account or region changed; update notified.py"
    return {"events": _subscribe(sandbox, sandbox.settings.events_topic_arn), "own": _subscribe(sandbox, created)}


@pytest.fixture(scope="module")
def runner(api_config) -> Runner:
    client = ApiClient(api_config)
    client.register(build_registration(client, [str(WORKFLOWS)], "default", "development", VERSION)[0])
    return Runner(client, VERSION)


def test_a_succeeding_run_publishes_one_generic_message_and_no_notification(sandbox, runner, topics):
    execution = _run_plan(runner, {"ok": True})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    _deliver_again(sandbox, runner, execution)
    name = execution["id"]["name"]

    events = _collect(sandbox, topics["events"], name, expected=1)
    own = _collect(sandbox, topics["own"], name, expected=0)

    assert [(m["phase"], m["email"]) for m in events] == [("SUCCEEDED", None)], events
    assert events[0]["body"]["launch_plan"]["name"] == PLAN and events[0]["body"]["error"] is None
    assert own == []


def test_a_failing_run_notifies_once_even_when_its_status_event_comes_twice(sandbox, runner, topics, notified):
    execution = _run_plan(runner, {"ok": False})
    assert execution["phase"] == "FAILED", execution
    _deliver_again(sandbox, runner, execution)
    name = execution["id"]["name"]

    events = _collect(sandbox, topics["events"], name, expected=2)
    own = _collect(sandbox, topics["own"], name, expected=1)

    generic = [m for m in events if m["email"] is None]
    emails = [m for m in events if m["email"] is not None]
    assert [m["phase"] for m in generic] == ["FAILED"], events
    assert [(m["phase"], m["email"]) for m in emails] == [("FAILED", [notified.ONCALL])], events
    assert [m["phase"] for m in own] == ["FAILED"], own
    for message in generic + emails + own:
        assert message["body"]["name"] == name and message["body"]["launch_plan"]["name"] == PLAN
        assert "asked to fail" in message["body"]["error"]["message"], message


def test_of_two_handlers_that_read_the_record_before_either_wrote_only_one_moves_it(sandbox, project):
    """What keeps racing deliveries (two Lambda invocations at once) from notifying twice: the handler
    notifies only when its conditional write moved the phase, and of two writers holding the same stale
    record, one does."""
    store = sandbox.services.executions.store
    store.create(project, "development", "raced", workflow={"name": "notified.checked"}, launch_plan=None,
                 request_digest="-")
    first, second = (store.get(project, "development", "raced") for _ in range(2))
    assert store.set_phase(first, "RUNNING") and not store.set_phase(second, "RUNNING")
    third = store.get(project, "development", "raced")
    assert store.set_phase(second, "FAILED", error={"code": "x", "message": "first"})
    assert not store.set_phase(third, "SUCCEEDED") and not store.set_phase(third, "FAILED")
    final = store.get(project, "development", "raced")
    assert final.phase == "FAILED" and final.error["message"] == "first"


def _run_plan(runner: Runner, inputs: dict[str, Any]) -> dict[str, Any]:
    started = runner.client.create_execution({"project": "default", "domain": "development", "inputs": inputs,
                                              "launch_plan": {"name": PLAN, "version": VERSION}})
    return runner.wait(started["id"]["name"], deadline=DEADLINE_SECONDS)


def _deliver_again(sandbox, runner: Runner, execution: dict[str, Any]) -> None:
    """The terminal status event twice more, and a late RUNNING one, built as the sandbox's poller builds
    it from describe_execution (EventBridge delivers at least once, in no particular order)."""
    arn = sandbox.services.executions.store.get("default", "development", execution["id"]["name"]).sfn_execution_arn
    described = sandbox.client("stepfunctions").describe_execution(executionArn=arn)
    detail = {key: described.get(key) for key in ("executionArn", "stateMachineArn", "name", "status", "input",
                                                  "output", "error", "cause")}
    detail = json.loads(json.dumps(detail, default=str))
    assert detail["status"] == execution["phase"]
    for repeated in (detail, detail, {**detail, "status": "RUNNING", "output": None, "error": None, "cause": None}):
        sandbox.services.status.handle(repeated)
    again = runner.client.get_execution("default", "development", execution["id"]["name"])
    assert again["phase"] == execution["phase"] and again.get("error") == execution.get("error")


def _subscribe(sandbox, topic_arn: str) -> str:
    sqs = sandbox.client("sqs")
    url = sqs.create_queue(QueueName=f"notified-{time.monotonic_ns()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sandbox.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                                    Attributes={"RawMessageDelivery": "true"})
    return url


def _collect(sandbox, url: str, name: str, expected: int) -> list[dict[str, Any]]:
    """The queue's messages about execution `name`: wait until `expected` have come (a handler may still be
    publishing when the phase shows), then keep reading until the queue stays empty, so extras show too."""
    sqs = sandbox.client("sqs")
    found: list[dict[str, Any]] = []
    end = time.monotonic() + DEADLINE_SECONDS
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            attributes = message.get("MessageAttributes", {})
            email = json.loads(attributes["email"]["StringValue"]) if "email" in attributes else None
            if body.get("name") == name:
                found.append({"phase": body["phase"], "email": email, "body": body})
        if not batch and (len(found) >= expected or time.monotonic() > end):
            return found
