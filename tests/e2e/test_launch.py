"""`slipstream launch`, `get execution ID --wait` and `sandbox notifications` as a user types them, against the
session's sandbox, in a project of the module's own. The launch plan is registered from a file the launch never
sees: its options come from the registered interface."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from slipstream.sandbox.notifications import FILE_NAME, NotificationRecorder, read_records
from tests.support.cli import slipstream, succeeded

pytestmark = pytest.mark.e2e
DEADLINE_SECONDS = 60.0

CODE = '''
import datetime as dt
from slipstream import Email, LaunchPlan, PagerDuty, Slack, WorkflowExecutionPhase as Phase, task, workflow


@task
def combine(a: int, label: str, factor: float, when: dt.datetime) -> str:
    if a < 0:
        raise ValueError(f"a [{a}] must not be negative")
    return f"{label}:{a * factor}:{when.year}"


@workflow
def wf(a: int, label: str = "x", factor: float = 1.0, when: dt.datetime = dt.datetime(2020, 1, 1)) -> str:
    return combine(a=a, label=label, factor=factor, when=when)


nightly = LaunchPlan.create("nightly", wf, fixed_inputs={"factor": 2.0}, default_inputs={"label": "night"},
    notifications=[Email(phases=[Phase.FAILED], recipients_email=["team@example.com"]),
                   Slack(phases=[Phase.FAILED, Phase.SUCCEEDED], recipients_email=["chan@acme.slack.com"]),
                   PagerDuty(phases=[Phase.TIMED_OUT], recipients_email=["svc@acme.pagerduty.com"])])
'''


@pytest.fixture(scope="module")
def project(api_config) -> str:
    """The module's project: its tests read only what they start (executions by name), so they share the plans
    registered once (registering per test cost a CLI run each)."""
    from slipstream.client import ApiClient

    name = f"launch-{uuid.uuid4().hex[:8]}"
    ApiClient(api_config).create_project(name)
    return name


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, sandbox, project) -> Path:
    """A SLIPSTREAM_HOME pointing at the session's sandbox and the module's project; its `sandbox` folder is
    the session sandbox's home, so `slipstream sandbox notifications` reads what that sandbox recorded."""
    tmp_path = tmp_path_factory.mktemp("launch")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"api_url": sandbox.api_url, "project": project}))
    (home / "sandbox").symlink_to(sandbox.home)
    code = tmp_path / "code"
    code.mkdir()
    (code / "plans.py").write_text(CODE)
    succeeded(slipstream(home, "register", str(code), "--version", "v1"))
    return home


def _last_json(done: Any) -> Any:
    return json.loads(succeeded(done).stdout.strip().splitlines()[-1])


def test_launch_help_lists_the_registered_inputs_but_not_the_fixed_ones(home):
    done = succeeded(slipstream(home, "launch", "nightly", "--help"))
    assert "--a" in done.stdout and "--label" in done.stdout and "--when" in done.stdout
    assert "--factor" not in done.stdout and "night" in done.stdout


def test_launch_by_name_applies_defaults_and_fixed_inputs_and_waits_for_outputs(home):
    done = slipstream(home, "launch", "nightly", "--a", "3", "--when", "2031-05-06T07:00:00", "--wait",
                      "--json")
    assert _last_json(done) == {"o0": "night:6.0:2031"}


def test_launch_a_workflow_by_name_runs_its_default_launch_plan(home):
    done = slipstream(home, "launch", "plans.wf", "--version", "v1", "--a", "2", "--factor", "1.5", "--wait", "--json")
    assert _last_json(done) == {"o0": "x:3.0:2020"}


def test_overriding_a_fixed_input_is_a_400_naming_it(home):
    done = slipstream(home, "launch", "nightly", "--a", "1", "--factor", "9")
    assert done.returncode == 2, done
    assert "factor" in done.stderr and "fixed" in done.stderr, done.stderr


def test_a_bad_value_and_a_missing_input_are_usage_errors(home):
    bad = slipstream(home, "launch", "nightly", "--a", "three")
    assert bad.returncode == 2 and "--a" in bad.stderr and "three" in bad.stderr, bad.stderr
    missing = slipstream(home, "launch", "nightly")
    assert missing.returncode == 2 and "--a" in missing.stderr, missing.stderr
    unknown = slipstream(home, "launch", "plans.nope")
    assert unknown.returncode == 2 and "plans.nope" in unknown.stderr, unknown.stderr


def test_get_execution_wait_reattaches_and_a_failure_notifies_once(home, sandbox, project):
    started = _last_json(slipstream(home, "launch", "nightly", "--a", "-1", "--json"))
    name = started["execution"]["name"]

    waited = slipstream(home, "get", "execution", name, "--wait")

    assert waited.returncode == 1 and "must not be negative" in waited.stderr, waited
    assert name in waited.stderr  # the live table's title
    _replay(sandbox, project, name)
    records = _recorded(sandbox, project, name, expected=2)
    assert sorted(tuple(r["to"]) for r in records) == [("chan@acme.slack.com",), ("team@example.com",)], records
    for record in records:
        message = record["message"]
        assert record["phase"] == "FAILED" and message["launch_plan"]["name"] == "nightly"
        assert message["workflow"]["name"] == "plans.wf" and "must not be negative" in message["error"]["message"]
        assert message["started_at"] and message["duration_seconds"] >= 0
        assert message["inspect"] == f"slipstream get execution {name} -p {project} -d development"
    shown = succeeded(slipstream(home, "sandbox", "notifications", "--json")).stdout.splitlines()
    assert sum(json.loads(line)["execution"] == name for line in shown) == 2
    text = succeeded(slipstream(home, "sandbox", "notifications")).stdout
    assert f"{project}/development/{name} → team@example.com" in text and "must not be negative" in text


def test_a_success_notifies_only_the_plans_that_ask_for_it(home, sandbox, project):
    done = slipstream(home, "launch", "nightly", "--a", "1", "--wait", "--json", "--exec-name", "ok-run")
    assert _last_json(done) == {"o0": "night:2.0:2020"}
    _replay(sandbox, project, "ok-run")
    records = _recorded(sandbox, project, "ok-run", expected=1)
    assert [(r["phase"], r["to"]) for r in records] == [("SUCCEEDED", ["chan@acme.slack.com"])], records


def _replay(sandbox, project: str, name: str) -> None:
    """The terminal status event twice more, as EventBridge may deliver it."""
    arn = sandbox.services.executions.store.get(project, "development", name).sfn_execution_arn
    described = sandbox.client("stepfunctions").describe_execution(executionArn=arn)
    detail = json.loads(json.dumps({key: described.get(key) for key in (
        "executionArn", "stateMachineArn", "name", "status", "input", "output", "error", "cause")}, default=str))
    for _ in range(2):
        sandbox.services.status.handle(detail)


def _recorded(sandbox, project: str, name: str, expected: int) -> list[dict[str, Any]]:
    """What the sandbox recorded about the execution, once `expected` records are there and its queue holds
    nothing, neither waiting nor received and unwritten (the recorder writes a batch before deleting it), so
    extras would show too: a replay's notifications are in the queue when `_replay` returns (SNS delivers to
    SQS within the publish). The deadline only stops a hung test."""
    recorder = next(w for w in sandbox.workers if isinstance(w, NotificationRecorder))
    end = time.monotonic() + DEADLINE_SECONDS
    while True:
        settled = _queue_is_empty(sandbox, recorder.queue_url)
        found = [r for r in read_records(sandbox.home / FILE_NAME)
                 if r["project"] == project and r["execution"] == name]
        if (len(found) >= expected and settled) or time.monotonic() > end:
            return found
        time.sleep(0.05)


def _queue_is_empty(sandbox, queue_url: str) -> bool:
    counts = sandbox.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


@pytest.mark.parametrize(("notification", "named"), [
    ({"phases": ["FAILED"], "email": ["oncall-at-example.com"]}, "oncall-at-example.com"),
    ({"phases": ["FAILED"], "sns_topic_arn": "arn:aws:sqs:us-east-1:123456789012:q"}, "arn:aws:sqs"),
    ({"phases": ["FINISHED"], "email": ["a@example.com"]}, "FINISHED"),
])
def test_registration_refuses_bad_notifications_with_a_400(home, api, project, notification, named):
    from chalicelib.errors import ValidationError

    plan = api.get_entity("launch_plan", project, "development", "nightly", "v1")["spec"]
    plan = {**plan, "id": {**plan["id"], "version": "v2"}, "notifications": [notification]}
    with pytest.raises(ValidationError) as raised:
        api.register([plan])
    assert named in str(raised.value)


NAMED_LIKE_OPTIONS = '''
from slipstream import task, workflow


@task
def greet(name: str, version: int) -> str:
    return f"{name}@{version}"


@workflow
def greeting(name: str, version: int = 1) -> str:
    return greet(name=name, version=version)
'''


def test_inputs_named_like_launchs_own_argument_and_options(home, tmp_path):
    code = tmp_path / "named"
    code.mkdir()
    (code / "named.py").write_text(NAMED_LIKE_OPTIONS)
    succeeded(slipstream(home, "register", str(code), "--version", "v2"))
    helped = succeeded(slipstream(home, "launch", "named.greeting", "--help"))
    assert "--name" in helped.stdout and "--input-version" in helped.stdout and "Warning" not in helped.stderr
    done = slipstream(home, "launch", "named.greeting", "--name", "ada", "--input-version", "3", "--wait", "--json")
    assert _last_json(done) == {"o0": "ada@3"}
