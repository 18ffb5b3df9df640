"""`slipstream run --remote` and the execution commands as a user types them, against a sandbox started by
`slipstream sandbox start`. Local runs, the sandbox's lifecycle and registration: test_cli_local.py and
test_cli_sandbox.py."""

from __future__ import annotations

import json
import shutil
import subprocess

import boto3
import pytest

from tests.conftest import EXAMPLES
from tests.support.asl import assert_deployed_valid
from tests.support.cli import slipstream as run_cli
from tests.support.cli import succeeded

pytestmark = pytest.mark.e2e

SHAPE = json.dumps({"name": "tri", "points": [{"x": 0, "y": 0}, {"x": 3, "y": 0}, {"x": 3, "y": 4}]})
EXAMPLE_RUNS = [
    ("hello.py", "my_wf", ["--a", "50", "--b", "hello"], {"o0": 52, "o1": "helloworld"}),
    ("conditionals.py", "toss", [], {"o0": "heads"}),
    ("conditionals.py", "scale", ["--x", "3"], {"o0": "scaled: 6.0"}),
    ("map_reduce.py", "scaled_sum", [], {"o0": 60}),
    ("map_reduce.py", "inverses", [], {"o0": 3}),
    ("dynamic_fanout.py", "squares", [], {"o0": 30}),
    ("subworkflows.py", "outer", [], {"o0": 7.0, "o1": "HELLO FLYTE users"}),
    ("files.py", "file_flow", [], {"o0": 10, "o1": 3}),
    ("launch_plans.py", "nightly_greeting", [], {"o0": "Good night, ops (2024-01-01)"}),
    ("graphs.py", "diamond", [], {"o0": 4}),
    ("graphs.py", "n_shape", [], {"o0": 2, "o1": 2}),
    ("reliability.py", "cached", [], {"o0": 49}),
    ("types_tour.py", "tour", ["--shape", SHAPE], {
        "o0": 12.0, "o1": "2024-01-02T01:00:00.000000",
        "o2": {"name": "tri", "points": [{"x": 0.0, "y": 0.0}, {"x": 3.0, "y": 0.0}, {"x": 3.0, "y": 4.0}],
               "tags": {}, "color": "green"}}),
]


def slipstream(home, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    done = run_cli(home, *args)
    return succeeded(done) if check else done


def last_json(done: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


# the sandbox


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("sandbox-home")
    slipstream(home, "sandbox", "start", check=True)
    slipstream(home, "register", "examples", "--version", "v1", check=True)
    yield home
    state = json.loads((home / "sandbox" / "state.json").read_text())
    sfn = boto3.session.Session("sandbox", "sandbox", region_name=state["region"]).client(
        "stepfunctions", endpoint_url=state["aws_endpoint_url"])
    try:
        assert_deployed_valid(sfn, "the `slipstream sandbox start` sandbox")
    finally:
        slipstream(home, "sandbox", "stop")


@pytest.mark.parametrize("file, workflow, args, expected", EXAMPLE_RUNS, ids=[f"{r[0]}:{r[1]}" for r in EXAMPLE_RUNS])
def test_every_example_runs_remotely_with_the_same_outputs(sandbox_home, file, workflow, args, expected):
    done = slipstream(sandbox_home, "run", "--remote", "--wait", "--json", f"examples/{file}", workflow, *args,
                      check=True)
    assert last_json(done) == expected


def test_remote_failure_exits_1_and_execution_details_are_shown(sandbox_home):
    done = slipstream(sandbox_home, "run", "--remote", "--wait", "examples/reliability.py", "user_error",
                      "--message", "nope")
    assert done.returncode == 1 and "ValueError: nope" in done.stderr and "Traceback" not in done.stderr
    listed = last_json(slipstream(sandbox_home, "get", "executions", "--json", "--phase", "FAILED", check=True))
    # newest first; other tests' executions may fail meanwhile in this shared sandbox
    name = next(e["id"]["name"] for e in listed["executions"]
                if "ValueError: nope" in (e["error"] or {}).get("message", ""))
    view = last_json(slipstream(sandbox_home, "get", "execution", name, "--json", check=True))
    assert view["id"] == name and view["phase"] == "FAILED" and "ValueError: nope" in view["error"]["message"]
    assert view["inputs"] == {"message": "nope"} and view["outputs"] is None
    node = view["nodes"][0]
    assert set(node) >= {"node_id", "task", "phase", "started_at", "ended_at", "attempts"}
    assert node["task"] == "reliability.fails" and node["attempts"] == 1
    assert "ValueError: nope" in slipstream(sandbox_home, "logs", name, "n0", check=True).stdout
    relaunched = slipstream(sandbox_home, "execution", "relaunch", name, check=True)
    assert f"Relaunched {name} as" in relaunched.stdout


def test_terminate_from_the_cli(sandbox_home):
    started = slipstream(sandbox_home, "run", "--remote", "--json", "examples/graphs.py", "n_shape", "--delay", "60",
                         check=True)
    name = last_json(started)["execution"]["name"]
    assert "ABORTED" in slipstream(sandbox_home, "execution", "terminate", name, check=True).stdout
    again = slipstream(sandbox_home, "execution", "terminate", name)
    assert again.returncode == 2 and "already ended" in again.stderr


def test_register_defaults_to_the_git_commit(sandbox_home, tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(EXAMPLES / "hello.py", tmp_path / "hello.py")
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert last_json(slipstream(sandbox_home, "register", str(tmp_path), "--json", check=True))["version"] == commit
    (tmp_path / "hello.py").write_text((tmp_path / "hello.py").read_text() + "\n# changed\n")
    dirty = last_json(slipstream(sandbox_home, "register", str(tmp_path), "--json", check=True))["version"]
    assert dirty.startswith(f"{commit}-dirty-")
