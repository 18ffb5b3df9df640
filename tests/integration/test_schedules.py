"""Activation and schedules over the sandbox: one active version per plan, an EventBridge Scheduler schedule per
active scheduled plan (moto's `scheduler`), and the scheduler worker firing the schedule handler at the
instants of the plan's rate, with a clock the test moves (no test waits a minute)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib.schedules import fire_execution_name, schedule_name
from slipstream import LaunchPlan, task, workflow
from slipstream.launch_plan import CronSchedule, FixedRate
from slipstream.sandbox.workers import scheduler_worker
from slipstream.serialization import SerializationSettings, serialize
from tests.integration.api_http import DOMAIN, call, error_of

pytestmark = pytest.mark.integration


@task
def stamp(kickoff_time: dt.datetime, label: str) -> str:
    return f"{label}@{kickoff_time.isoformat()}"


@workflow
def stamped(kickoff_time: dt.datetime, label: str = "tick") -> str:
    return stamp(kickoff_time=kickoff_time, label=label)


every_minute = LaunchPlan.get_or_create(stamped, name="every_minute",
                                        schedule=FixedRate(duration=dt.timedelta(minutes=1),
                                                           kickoff_time_input_arg="kickoff_time"))
hourly = LaunchPlan.get_or_create(stamped, name="every_minute", schedule=CronSchedule(
    schedule="@hourly", kickoff_time_input_arg="kickoff_time"))


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _register(api, project: str, plan: LaunchPlan, version: str) -> None:
    api.register(serialize([plan], SerializationSettings(project, DOMAIN, version)))


def _activate(api, project: str, name: str, version: str) -> tuple[int, dict]:
    return call(api, "POST", f"/api/v1/launch_plans/{project}/{DOMAIN}/{name}/activate", {"version": version})


def _schedule(sandbox, project: str, name: str) -> dict | None:
    scheduler = sandbox.client("scheduler")
    try:
        return scheduler.get_schedule(Name=schedule_name(sandbox.stack, project, DOMAIN, name))
    except scheduler.exceptions.ResourceNotFoundException:
        return None


def test_fixed_rate_plan_fires_once_per_minute_until_deactivated(sandbox, api, project) -> None:
    # GIVEN a registered FixedRate(1 min) plan, activated over the API
    _register(api, project, every_minute, "v1")
    status, body = _activate(api, project, "every_minute", "v1")
    assert status == 200, body
    schedule = _schedule(sandbox, project, "every_minute")
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert json.loads(schedule["Target"]["Input"])["scheduled_time"] == "<aws.scheduler.scheduled-time>"
    assert call(api, "GET", f"/api/v1/active_launch_plans/{project}/{DOMAIN}")[1]["launch_plans"][0]["version"] == "v1"

    # WHEN the worker ticks at 12:00:59 and then at the scheduled minute 12:01:00 (plus a few seconds)
    clock = Clock(dt.datetime(2031, 5, 6, 12, 0, 30, tzinfo=dt.UTC))
    worker = scheduler_worker(sandbox.services, clock=clock)
    clock.now = dt.datetime(2031, 5, 6, 12, 0, 59, tzinfo=dt.UTC)
    assert [e for e in worker.tick() if e["id"]["project"] == project] == []
    clock.now = dt.datetime(2031, 5, 6, 12, 1, 4, tzinfo=dt.UTC)
    fired = [e for e in worker.tick() if e["id"]["project"] == project]

    # THEN one execution, named from (plan, minute), whose kickoff input is the scheduled minute
    scheduled = dt.datetime(2031, 5, 6, 12, 1, tzinfo=dt.UTC)
    assert [e["id"]["name"] for e in fired] == [fire_execution_name("every_minute", scheduled)]
    execution = api.get_execution(project, DOMAIN, fired[0]["id"]["name"])
    assert execution["inputs"] == {"kickoff_time": scheduled.isoformat(), "label": "tick"}
    assert execution["launch_plan"]["version"] == "v1"

    # WHEN the same fire is delivered again (a retried or duplicate delivery) THEN nothing new is created
    again = worker.handler.fire({"project": project, "domain": DOMAIN, "launch_plan": "every_minute",
                                 "scheduled_time": "2031-05-06T12:01:00Z"})
    assert again["created"] is False and again["id"] == fired[0]["id"]
    listed = api.list_executions(project, DOMAIN)["executions"]  # the sandbox's own worker fires real minutes
    assert [e["id"]["name"] for e in listed if e["id"]["name"].endswith("-203105061201")] == [fired[0]["id"]["name"]]

    # WHEN it is deactivated THEN the schedule is gone and later minutes fire nothing; it still launches by hand
    status, body = call(api, "POST", f"/api/v1/launch_plans/{project}/{DOMAIN}/every_minute/deactivate")
    assert status == 200 and body["active"] is False, body
    assert _schedule(sandbox, project, "every_minute") is None
    clock.now = dt.datetime(2031, 5, 6, 12, 5, 0, tzinfo=dt.UTC)
    assert [e for e in worker.tick() if e["id"]["project"] == project] == []
    manual = api.create_execution({"project": project, "domain": DOMAIN, "launch_plan": {"name": "every_minute"},
                                   "inputs": {"kickoff_time": "2031-01-01T00:00:00+00:00"}})
    assert manual["id"]["project"] == project


def test_fires_missed_while_stopped_are_not_replayed(sandbox, api, project) -> None:
    _register(api, project, every_minute, "v1")
    assert _activate(api, project, "every_minute", "v1")[0] == 200
    # GIVEN a worker that starts at 09:30:10 (the sandbox was down before)
    clock = Clock(dt.datetime(2032, 1, 1, 9, 30, 10, tzinfo=dt.UTC))
    worker = scheduler_worker(sandbox.services, clock=clock)
    # WHEN it ticks at 09:32:00 THEN only 09:31 and 09:32 fire, nothing before its start
    clock.now = dt.datetime(2032, 1, 1, 9, 32, 0, tzinfo=dt.UTC)
    names = sorted(e["id"]["name"] for e in worker.tick() if e["id"]["project"] == project)
    assert names == sorted(fire_execution_name("every_minute", dt.datetime(2032, 1, 1, 9, m, tzinfo=dt.UTC))
                           for m in (31, 32))


def test_activating_another_version_moves_the_schedule(sandbox, api, project) -> None:
    _register(api, project, every_minute, "v1")
    _register(api, project, hourly, "v2")
    assert _activate(api, project, "every_minute", "v1")[0] == 200
    # WHEN v2 (hourly) is activated THEN the one schedule now runs hourly and v2 is the only active version
    status, body = _activate(api, project, "every_minute", "v2")
    assert status == 200 and body["previous_version"] == "v1", body
    assert _schedule(sandbox, project, "every_minute")["ScheduleExpression"] == "cron(0 * * * ? *)"
    active = call(api, "GET", f"/api/v1/active_launch_plans/{project}/{DOMAIN}")[1]["launch_plans"]
    assert [(p["name"], p["version"]) for p in active] == [("every_minute", "v2")]


def test_activation_errors_are_clear(api, project) -> None:
    _register(api, project, every_minute, "v1")
    error = error_of(_activate(api, project, "every_minute", "v9"), 404)
    assert "v9" in error["message"]
    error = error_of(call(api, "POST", f"/api/v1/launch_plans/{project}/{DOMAIN}/every_minute/activate", {}), 400)
    assert "version" in error["message"]
    error = error_of(call(api, "POST", f"/api/v1/launch_plans/{project}/{DOMAIN}/every_minute/deactivate"), 404)
    assert "not active" in error["message"]


def test_cli_activates_lists_and_deactivates(sandbox, api, project) -> None:
    from click.testing import CliRunner

    from slipstream.cli.main import cli

    _register(api, project, every_minute, "v1")
    env = {"SLIPSTREAM_API_URL": sandbox.api_url, "SLIPSTREAM_AUTH": "none"}
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "Activated every_minute version v1" in run("launchplan", "activate", "every_minute", "--version", "v1",
                                                       "-p", project, "-d", DOMAIN)
    listed = json.loads(run("get", "launchplans", "--active", "--json", "-p", project, "-d", DOMAIN))
    assert [(p["name"], p["version"]) for p in listed["launch_plans"]] == [("every_minute", "v1")]
    assert "Deactivated every_minute (version v1)" in run("launchplan", "deactivate", "every_minute", "-p", project,
                                                          "-d", DOMAIN)
    assert json.loads(run("get", "launchplans", "--active", "--json", "-p", project))["launch_plans"] == []


def test_auto_activate_activates_at_registration(sandbox, api, project) -> None:
    plan = LaunchPlan.get_or_create(stamped, name="auto_minute", auto_activate=True, schedule=FixedRate(
        duration=dt.timedelta(minutes=5), kickoff_time_input_arg="kickoff_time"))
    assert plan.to_spec(SerializationSettings(project, DOMAIN, "v1"))["auto_activate"] is True
    _register(api, project, plan, "v1")
    active = call(api, "GET", f"/api/v1/active_launch_plans/{project}/{DOMAIN}")[1]["launch_plans"]
    assert [(p["name"], p["version"]) for p in active] == [("auto_minute", "v1")]
    assert _schedule(sandbox, project, "auto_minute")["ScheduleExpression"] == "rate(5 minutes)"
    # a plan without the flag is registered inactive
    _register(api, project, every_minute, "v1")
    active = call(api, "GET", f"/api/v1/active_launch_plans/{project}/{DOMAIN}")[1]["launch_plans"]
    assert [p["name"] for p in active] == ["auto_minute"]
