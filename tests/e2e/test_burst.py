"""A burst of work queues instead of failing: 100 executions submitted at once all succeed with the right
outputs. The sandbox runs at most `max_running_tasks` task processes per project-domain (two per core);
the others wait for a slot, their tokens kept alive, their own timeouts not yet started."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from slipstream.cli.register import build_registration
from slipstream.client import ApiClient
from slipstream.config import ClientConfig
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e
WORKFLOWS = Path(__file__).parent / "workflows" / "burst.py"
BURST = 100


def test_a_hundred_executions_submitted_at_once_all_succeed(sandbox, api, project):
    client = ApiClient(ClientConfig(api.config.api_url, project, "development", "none"))
    client.register(build_registration(client, [str(WORKFLOWS)], project, "development", "v1")[0])
    runner = Runner(client, "v1", project=project)
    with ThreadPoolExecutor(max_workers=16) as pool:
        names = list(pool.map(lambda i: runner.start("burst.one", {"x": i})["id"]["name"], range(BURST)))
    ended = {name: runner.wait(name, deadline=600.0) for name in names}
    failed = {n: e.get("error") for n, e in ended.items() if e["phase"] != "SUCCEEDED"}
    assert not failed, f"{len(failed)} of {BURST} did not succeed: {list(failed.items())[:3]}"
    assert [ended[name]["outputs"] for name in names] == [{"o0": i + 1} for i in range(BURST)]
    assert sandbox.settings.max_running_tasks == sandbox.launcher.max_running > 0


def test_a_launch_plans_max_parallelism_runs_its_tasks_one_at_a_time(sandbox, api, project):
    client = ApiClient(ClientConfig(api.config.api_url, project, "development", "none"))
    files = [str(WORKFLOWS.parent / "parallelism.py")]
    client.register(build_registration(client, files, project, "development", "v1")[0])
    runner = Runner(client, "v1", project=project)
    execution = runner.run("one_at_a_time", launch_plan={"name": "one_at_a_time", "version": "v1"})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    assert execution["outputs"] == {"o0": [1, 2, 3, 4]}
    spans = sorted((node["started_at"], node["ended_at"]) for node in runner.nodes(execution["id"]["name"]).values())
    assert len(spans) == 4
    assert all(previous[1] <= following[0] for previous, following in zip(spans, spans[1:], strict=False)), spans
