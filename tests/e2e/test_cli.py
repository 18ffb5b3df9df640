"""The `slipstream` command as a user types it: local runs, the sandbox, registration, remote runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from chalicelib.spec import check_spec_shape
from tests.conftest import EXAMPLES, ROOT

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
    env = {**os.environ, "SLIPSTREAM_HOME": str(home), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "slipstream", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=240)
    if check and done.returncode != 0:
        raise AssertionError(f"slipstream {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def last_json(done: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-home")


# local runs


def test_run_prints_outputs_readably_and_as_json(home):
    done = slipstream(home, "run", "examples/hello.py", "my_wf", "--a", "50", "--b", "hello", check=True)
    assert done.stdout.splitlines() == ["o0: 52", "o1: helloworld"]
    done = slipstream(home, "run", "--json", "examples/hello.py", "my_wf", "--a", "50", "--b", "hello", check=True)
    assert done.stdout.strip().splitlines()[-1] == '{"o0": 52, "o1": "helloworld"}'


def test_help_lists_inputs_types_and_defaults(home):
    done = slipstream(home, "run", "examples/graphs.py", "n_shape", "--help", check=True)
    assert "--x INTEGER" in done.stdout and "--delay FLOAT" in done.stdout and "[default: 0.0]" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["examples/hello.py", "my_wf", "--a", "x", "--b", "y"], "'x' is not a valid integer"),
    (["examples/hello.py", "my_wf", "--b", "y"], "Missing option '--a'"),
    (["examples/hello.py", "nope"], "[nope] is not a task, workflow or launch plan"),
    (["examples/missing.py", "wf"], "is not a Python file"),
    (["examples/types_tour.py", "tour", "--shape", "{bad json"], "is not valid JSON"),
    (["examples/types_tour.py", "tour", "--shape", '{"name": 1, "points": []}'], "expected str"),
])
def test_usage_and_validation_errors_exit_2_without_traceback(home, args, message):
    done = slipstream(home, "run", *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args, message", [
    (["examples/reliability.py", "user_error"], "ValueError: bad input"),
    (["examples/conditionals.py", "scale", "--x", "-1"], "x must not be negative"),
])
def test_failed_runs_exit_1_with_one_clear_line(home, args, message):
    done = slipstream(home, "run", *args)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_second_run_of_a_cached_task_says_cache_hit(tmp_path):
    slipstream(tmp_path, "run", "examples/reliability.py", "cached", "--x", "11", check=True)
    done = slipstream(tmp_path, "run", "examples/reliability.py", "cached", "--x", "11", check=True)
    assert "cache hit: n0 (reliability.expensive)" in done.stderr


@pytest.mark.parametrize("file, workflow, args, expected", EXAMPLE_RUNS, ids=[f"{r[0]}:{r[1]}" for r in EXAMPLE_RUNS])
def test_every_example_runs_locally(home, file, workflow, args, expected):
    assert last_json(slipstream(home, "run", "--json", f"examples/{file}", workflow, *args, check=True)) == expected


def test_serialize_writes_valid_deterministic_specs(home):
    first = slipstream(home, "serialize", "examples", "--version", "v1", check=True).stdout
    second = slipstream(home, "serialize", "examples", "--version", "v1", check=True).stdout
    assert first == second
    specs = json.loads(first)
    assert len(specs) > 30
    for spec in specs:
        check_spec_shape(spec)


# the sandbox


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("sandbox-home")
    slipstream(home, "sandbox", "start", check=True)
    slipstream(home, "register", "examples", "--version", "v1", check=True)
    yield home
    slipstream(home, "sandbox", "stop")


def test_sandbox_start_is_idempotent_and_status_names_the_api(sandbox_home):
    before = last_json(slipstream(sandbox_home, "sandbox", "status", "--json", check=True))
    assert before["running"] is True and before["api_url"].startswith("http://127.0.0.1:")
    again = slipstream(sandbox_home, "sandbox", "start", check=True)
    assert "running" in again.stdout
    status = last_json(slipstream(sandbox_home, "sandbox", "status", "--json", check=True))
    assert status["api_url"] == before["api_url"]


def test_register_again_changes_nothing_and_get_lists_entities(sandbox_home):
    again = slipstream(sandbox_home, "register", "examples", "--version", "v1", "--json", check=True)
    assert {e["status"] for e in last_json(again)["entities"]} == {"unchanged"}
    listed = last_json(slipstream(sandbox_home, "get", "workflows", "--json", check=True))
    names = {e["name"] for e in listed["entities"]}
    assert {"hello.my_wf", "graphs.n_shape"} <= names
    assert "hello.my_wf" in slipstream(sandbox_home, "get", "workflows", check=True).stdout
    versions = last_json(slipstream(sandbox_home, "get", "workflows", "hello.my_wf", "--json", check=True))
    assert [v["id"]["version"] for v in versions["entities"]] == ["v1"]
    spec = json.loads(slipstream(sandbox_home, "get", "tasks", "hello.t1", "--version", "v1", check=True).stdout)
    assert spec["function"] == {"module": "hello", "name": "t1"}
    listed = last_json(slipstream(sandbox_home, "get", "launchplans", "--json", check=True))
    plans = {e["name"] for e in listed["entities"]}
    assert {"nightly_greeting", "hello.my_wf"} <= plans


def test_different_content_under_a_taken_version_is_refused(sandbox_home, tmp_path):
    changed = tmp_path / "code"
    changed.mkdir()
    source = (EXAMPLES / "hello.py").read_text().replace("@task\ndef t2", "@task(retries=1)\ndef t2")
    (changed / "hello.py").write_text(source)
    done = slipstream(sandbox_home, "register", str(changed), "--version", "v1")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "already registered with different content" in done.stderr and "new version" in done.stderr


def test_projects_can_be_created_once(sandbox_home):
    slipstream(sandbox_home, "create", "project", "demo", check=True)
    assert "demo" in {p["name"] for p in json.loads(slipstream(sandbox_home, "get", "projects", "--json").stdout)}
    done = slipstream(sandbox_home, "create", "project", "demo")
    assert done.returncode == 2 and "already exists" in done.stderr and "Traceback" not in done.stderr


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
    name = listed["executions"][0]["id"]["name"]
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
