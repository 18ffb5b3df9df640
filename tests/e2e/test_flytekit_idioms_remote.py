"""Flyte idioms run remotely with flytekit's results: the workflows of examples/flytekit_idioms.py, registered
once by the session fixture, run concurrently in the session's sandbox. The expected values are what flytekit
1.x gives for the same code run locally (written down here; flytekit is not a dependency)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import boto3
import pytest

from slipstream.cli.register import build_registration
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e
CONSTRUCTS = Path(__file__).parent / "workflows" / "flyte_constructs.py"

CASES = [
    # lazy compilation, `-> (float, float)`, Tuple outputs, a one-field NamedTuple returned bare + `.total`
    ("flytekit_idioms.stats_wf", {"xs": [3, -1.5, 2]}, {"o0": -1.5, "o1": 3.0, "o2": 3.5}),
    # imperative Workflow builder
    ("flytekit_idioms.imperative_wf", {"in1": "hello", "in2": [1, 2]}, {"shouted": "HELLO!", "total": 3.0}),
    # promise attribute/index paths resolved by the control plane; Union inputs (int and str members)
    ("flytekit_idioms.report", {"xs": [3, -1.5, 2], "note": 7}, {"o0": "hi=3.0 (int note: 7)"}),
    ("flytekit_idioms.report", {"xs": [3, -1.5, 2]}, {"o0": "hi=3.0 (str note: none)"}),
]


def test_flytekit_idioms_run_remotely_with_flytekits_results(runner) -> None:
    started = [runner.start(name, inputs)["id"]["name"] for name, inputs, _ in CASES]
    for execution, (name, _, expected) in zip(started, CASES, strict=True):
        done = runner.wait(execution)
        assert done["phase"] == "SUCCEEDED", (name, done.get("error"))
        assert done["outputs"] == expected, name


def test_run_remote_of_a_task_wraps_it_in_a_workflow(sandbox, monkeypatch) -> None:
    from click.testing import CliRunner

    from slipstream.cli.main import cli

    for key, value in {"API_URL": sandbox.api_url, "PROJECT": "default", "DOMAIN": "development",
                       "AUTH": "none"}.items():
        monkeypatch.setenv(f"SLIPSTREAM_{key}", value)
    done = CliRunner().invoke(cli, ["run", "--remote", "--wait", "--json", "examples/flytekit_idioms.py", "bounds",
                                    "--xs", "[1, 4, -2]"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"o0": -2.0, "o1": 4.0}  # flytekit: (-2.0, 4.0)


def test_flyte_constructs_run_remotely_with_flytekits_results(sandbox, api, tmp_path) -> None:
    """pydantic models and pickled values between pods, launch plans as nodes ordered with `>>`, a retry
    override, secrets from Secrets Manager through current_context(), a conditional case that calls a
    subworkflow, a ShellTask's file, a bare dict (ints stay ints, tuples become lists) and ImageSpec.is_container()
    inside its own image's pod (flytekit 1.16 gives the values below)."""
    specs, version = build_registration(api, [str(CONSTRUCTS)], "default", "development", "flyte-constructs")
    api.register(specs)
    runner = Runner(api, version)
    secrets = boto3.session.Session("sandbox", "sandbox", region_name=sandbox.region).client(
        "secretsmanager", endpoint_url=sandbox.endpoint_url)
    for name, value in (("db", json.dumps({"password": "s3cret"})), ("token", "tok-1")):
        with contextlib.suppress(secrets.exceptions.ResourceExistsException):
            secrets.create_secret(Name=f"slipstream/default/development/{name}", SecretString=value)
    marker = tmp_path / "flaky"
    marker.mkdir()
    runs = [("flyte_constructs.constructs", {"box": {"width": 1, "tags": ["a"]}, "n": 3, "marker_dir": str(marker)},
             {"o0": {"width": 3.5, "tags": ["a", "wider"]}, "o1": 3.5, "o2": 4, "o3": 30, "o4": 40,
              "o5": "attempt 3", "o6": "t:default/development:s3cret:tok-1:['password', 'token']",
              "o7": "HI-3!", "o8": {"n": 3, "tags": ["a", "b"], "nested": {"ok": True, "none": None}},
              "o9": "4:int:['a', 'b']", "o10": "True:False"}),
            ("flyte_constructs.branch_to_subworkflow", {"x": 7}, {"o0": 42}),
            ("flyte_constructs.branch_to_subworkflow", {"x": 2}, {"o0": -4})]
    started = [runner.start(name, inputs)["id"]["name"] for name, inputs, _ in runs]
    for execution, (name, _, expected) in zip(started, runs, strict=True):
        done = runner.wait(execution)
        assert done["phase"] == "SUCCEEDED", (name, done.get("error"))
        assert done["outputs"] == expected, name
    attempts = {node_id: node["attempts"] for node_id, node in runner.nodes(started[0]).items()}
    assert attempts["n5"] == 3, attempts  # the flaky node, retried twice by its override
