"""Registration refuses a task whose timeout no state machine of this deployment could bound: its run
state allows the timeout plus the time a pod may stay Pending plus slack, within one execution's longest
life (`AslOptions.max_task_timeout_seconds`). A 400 that names the task, and nothing stored."""

from __future__ import annotations

import pytest

from chalicelib.executions import asl_options
from tests.integration import sdk_entities as sdk
from tests.integration.api_http import call, error_of, kind_path, register_path
from tests.integration.test_register_entities import assert_none_stored, default_plan_of

pytestmark = pytest.mark.integration


def _with_timeout(specs: list[dict], seconds: int) -> list[dict]:
    sdk.one(specs, "task", sdk.DOUBLE)["metadata"]["timeout_seconds"] = seconds
    return specs


def test_a_timeout_above_the_limit_is_400_naming_the_task_and_the_batch_stores_nothing(api, project, sandbox):
    limit = asl_options(sandbox.settings).max_task_timeout_seconds
    specs = _with_timeout(sdk.specs(project), limit + 1)
    error = error_of(call(api, "POST", register_path(project), {"specs": specs}), 400)
    assert error["code"] == "ValidationError"
    assert f"task [{sdk.DOUBLE}] has a timeout of {limit + 1}s, above the maximum of {limit}s" in error["message"]
    assert_none_stored(api, project, [*specs, default_plan_of(sdk.one(specs, "workflow", sdk.PIPELINE))])


def test_a_task_alone_is_refused_too(api, project, sandbox):
    limit = asl_options(sandbox.settings).max_task_timeout_seconds
    task = sdk.one(_with_timeout(sdk.specs(project), 10 * limit), "task", sdk.DOUBLE)
    error = error_of(call(api, "POST", kind_path("task", project), task), 400)
    assert sdk.DOUBLE in error["message"] and str(limit) in error["message"]
    assert_none_stored(api, project, [task])


def test_a_timeout_at_the_limit_is_registered(api, project, sandbox):
    limit = asl_options(sandbox.settings).max_task_timeout_seconds
    results = api.register(_with_timeout(sdk.specs(project), limit))
    assert {r["status"] for r in results} == {"created"}
