"""The sandbox scheduler's instants and the names of fired executions."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.errors import ValidationError
from chalicelib.executions import EXECUTION_NAME
from chalicelib.schedules import fire_execution_name
from chalicelib.schedules.handler import parse_scheduled_time
from slipstream.sandbox.workers import fire_times

T = dt.datetime(2030, 3, 4, 10, 0, 30, tzinfo=dt.UTC)


def test_cron_instants_are_those_after_the_previous_tick_up_to_now() -> None:
    got = fire_times({"cron": "*/15 * * * *"}, T, T + dt.timedelta(hours=1))
    assert got == [dt.datetime(2030, 3, 4, 10, m, tzinfo=dt.UTC) for m in (15, 30, 45)] + \
        [dt.datetime(2030, 3, 4, 11, 0, tzinfo=dt.UTC)]
    assert fire_times({"cron": "@daily"}, T, T + dt.timedelta(hours=1)) == []


def test_rate_instants_are_whole_periods() -> None:
    got = fire_times({"rate_seconds": 120}, T, T + dt.timedelta(minutes=5))
    assert got == [dt.datetime(2030, 3, 4, 10, m, tzinfo=dt.UTC) for m in (2, 4)]
    assert fire_times(None, T, T + dt.timedelta(days=1)) == []


def test_execution_names_are_valid_and_depend_on_plan_and_minute() -> None:
    minute = dt.datetime(2030, 3, 4, 10, 1, tzinfo=dt.UTC)
    name = fire_execution_name("a_plan.with-any_name" * 10, minute)
    assert EXECUTION_NAME.fullmatch(name) and name.endswith("-203003041001")
    assert name == fire_execution_name("a_plan.with-any_name" * 10, minute + dt.timedelta(seconds=20))
    assert name != fire_execution_name("other", minute)
    assert name != fire_execution_name("a_plan.with-any_name" * 10, minute + dt.timedelta(minutes=1))


def test_scheduled_time_is_read_as_utc_minutes() -> None:
    assert parse_scheduled_time("2030-03-04T10:01:00Z") == dt.datetime(2030, 3, 4, 10, 1, tzinfo=dt.UTC)
    assert parse_scheduled_time("2030-03-04T12:01:07+02:00") == dt.datetime(2030, 3, 4, 10, 1, tzinfo=dt.UTC)
    with pytest.raises(ValidationError, match="scheduled_time"):
        parse_scheduled_time("yesterday")
