"""`slipstream run` and `slipstream serialize` as a user types them: the real console script in a
subprocess, from the repository root, with its own SLIPSTREAM_HOME. No control plane is involved."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from chalicelib.spec import check_spec_shape
from tests.support.cli import slipstream, succeeded

pytestmark = pytest.mark.e2e

SHAPE = json.dumps({"name": "tri", "points": [{"x": 0, "y": 0}, {"x": 3, "y": 0}, {"x": 3, "y": 4}]})
TMP = "<tmp>"  # replaced by a fresh directory

# (file, workflow or launch plan, arguments, outputs of `run --json`), worked out from the examples' code
EXAMPLE_RUNS = [
    ("hello.py", "my_wf", ["--a", "50", "--b", "hello"], {"o0": 52, "o1": "helloworld"}),
    ("conditionals.py", "toss", [], {"o0": "heads"}),
    ("conditionals.py", "toss", ["--seed", "3"], {"o0": "tails"}),
    ("conditionals.py", "scale", ["--x", "3"], {"o0": "scaled: 6.0"}),
    ("conditionals.py", "scale", ["--x", "20"], {"o0": "scaled: 10.0"}),
    ("conditionals.py", "nested", ["--x", "0.6"], {"o0": 0.3}),
    ("map_reduce.py", "scaled_sum", [], {"o0": 60}),
    ("map_reduce.py", "scaled_sum", ["--xs", "[1, 2]", "--factor", "3"], {"o0": 9}),
    ("map_reduce.py", "inverses", [], {"o0": 3}),
    ("dynamic_fanout.py", "squares", [], {"o0": 30}),
    ("dynamic_fanout.py", "squares", ["--n", "3"], {"o0": 5}),
    ("subworkflows.py", "outer", [], {"o0": 7.0, "o1": "HELLO FLYTE users"}),
    ("subworkflows.py", "line", ["--xs", "[0, 1, 2]", "--ys", "[1, 3, 5]"], {"o0": 21.0}),
    ("files.py", "file_flow", [], {"o0": 10, "o1": 3}),
    ("launch_plans.py", "nightly_greeting", [], {"o0": "Good night, ops (2024-01-01)"}),
    ("launch_plans.py", "greeting", ["--name", "bob"], {"o0": "Hello, bob (2024-01-01)"}),
    ("graphs.py", "diamond", [], {"o0": 4}),
    ("graphs.py", "n_shape", [], {"o0": 2, "o1": 2}),
    ("reliability.py", "cached", ["--x", "5"], {"o0": 25}),
    ("reliability.py", "retried", ["--marker_dir", TMP], {"o0": "succeeded on attempt 3"}),
    ("types_tour.py", "tour", ["--shape", SHAPE], {
        "o0": 12.0, "o1": "2024-01-02T01:00:00.000000",
        "o2": {"name": "tri", "points": [{"x": 0.0, "y": 0.0}, {"x": 3.0, "y": 0.0}, {"x": 3.0, "y": 4.0}],
               "tags": {}, "color": "green"}}),
    ("flytekit_idioms.py", "stats_wf", ["--xs", "[3, -1.5, 2]"], {"o0": -1.5, "o1": 3.0, "o2": 3.5}),
    ("flytekit_idioms.py", "imperative_wf", ["--in1", "hello", "--in2", "[1, 2]"], {"shouted": "HELLO!", "total": 3.0}),
    ("flytekit_idioms.py", "report", ["--xs", "[3, -1.5, 2]", "--note", "7"], {"o0": "hi=3.0 (int note: 7)"}),
    ("batched_map.py", "batched_inverses", [], {"o0": [None] + [1 / x for x in range(1, 50)]}),
]
# (file, workflow, options of `run` given before the file, outputs): runs whose gates are answered ahead of time
GATED_RUNS = [
    ("gates.py", "gated", ["--signal", "title=Report", "--signal", "publish=yes"], {"o0": "Report: xxx"}),
]
# (file, workflow, arguments, what the one line on stderr says): runs that fail, exit 1
FAILING_RUNS = [
    ("reliability.py", "user_error", [], "ValueError: bad input"),
    ("conditionals.py", "scale", ["--x", "-1"], "x must not be negative"),
    ("conditionals.py", "nested", ["--x", "0.8"], "conditional [fraction] failed: fractions of 0.7 and above"),
    ("map_reduce.py", "strict_inverses", [], "ZeroDivisionError: division by zero"),
]
# not run here: sleeps 30 s, as the local engine does not enforce task timeouts (remote runs do)
NOT_RUN = {("reliability.py", "too_slow")}


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-local-home")


def test_run_prints_each_output_on_its_own_line(home):
    done = succeeded(slipstream(home, "run", "examples/hello.py", "my_wf", "--a", "50", "--b", "hello"))
    assert done.stdout.splitlines() == ["o0: 52", "o1: helloworld"]
    assert "Traceback" not in done.stderr


def test_run_json_ends_with_one_json_line(home):
    done = succeeded(slipstream(home, "run", "--json", "examples/hello.py", "my_wf", "--a", "50", "--b", "hello"))
    assert last_line(done) == '{"o0": 52, "o1": "helloworld"}'


def test_workflow_help_lists_its_inputs_with_types(home):
    done = succeeded(slipstream(home, "run", "examples/hello.py", "my_wf", "--help"))
    options = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line.strip().startswith("--")}
    assert options["--a"] == "INTEGER" and options["--b"] == "TEXT"
    assert "[required]" in done.stdout


def test_help_shows_defaults_and_hides_fixed_launch_plan_inputs(home):
    done = succeeded(slipstream(home, "run", "examples/launch_plans.py", "nightly_greeting", "--help"))
    assert "--greeting" in done.stdout and "Good night" in done.stdout
    assert "--name" not in done.stdout  # fixed to "ops" by the launch plan


def test_file_help_lists_its_entities(home):
    done = succeeded(slipstream(home, "run", "examples/hello.py", "--help"))
    listed = {line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"my_wf", "t1", "t2"}


@pytest.mark.parametrize("args, message", [
    (["examples/hello.py", "my_wf", "--a", "x", "--b", "y"], "'x' is not a valid integer"),
    (["examples/hello.py", "my_wf", "--b", "y"], "Missing option '--a'"),
    (["examples/hello.py", "nope"], "[nope] is not a task, workflow or launch plan"),
    (["examples/missing.py", "wf"], "[examples/missing.py] is not a Python file"),
    (["examples/types_tour.py", "tour", "--shape", "{bad json"], "is not valid JSON"),
], ids=["bad-int", "missing-option", "unknown-workflow", "missing-file", "bad-json"])
def test_usage_errors_exit_2_with_one_error_line_and_no_traceback(home, args, message):
    done = slipstream(home, "run", *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    # click's own usage errors add its usage lines; the error itself is always exactly one line
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr


@pytest.mark.parametrize("args", [["examples/hello.py", "nope"], ["examples/missing.py", "wf"]],
                         ids=["unknown-workflow", "missing-file"])
def test_project_errors_are_exactly_one_line(home, args):
    done = slipstream(home, "run", *args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("Error: ")


@pytest.mark.parametrize("file, workflow, args, message", FAILING_RUNS, ids=[f"{r[0]}:{r[1]}" for r in FAILING_RUNS])
def test_failed_runs_exit_1_with_the_message_and_no_traceback(home, file, workflow, args, message):
    done = slipstream(home, "run", "--json", f"examples/{file}", workflow, *args)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]


def test_a_failing_task_is_named_in_the_error(home):
    done = slipstream(home, "run", "examples/reliability.py", "user_error", "--message", "nope")
    assert done.returncode == 1
    assert "task [reliability.fails]" in done.stderr and "ValueError: nope" in done.stderr


def test_second_run_of_a_cached_task_is_a_cache_hit(tmp_path):
    first = succeeded(slipstream(tmp_path, "run", "examples/reliability.py", "cached"))
    assert "cache hit" not in first.stderr and first.stdout.splitlines() == ["o0: 49"]
    second = succeeded(slipstream(tmp_path, "run", "examples/reliability.py", "cached"))
    assert "cache hit: n0 (reliability.expensive)" in second.stderr
    assert second.stdout.splitlines() == ["o0: 49"]
    other_input = succeeded(slipstream(tmp_path, "run", "examples/reliability.py", "cached", "--x", "8"))
    assert "cache hit" not in other_input.stderr and other_input.stdout.splitlines() == ["o0: 64"]


def test_the_cache_lives_in_slipstream_home(tmp_path):
    succeeded(slipstream(tmp_path / "a", "run", "examples/reliability.py", "cached", "--x", "3"))
    elsewhere = succeeded(slipstream(tmp_path / "b", "run", "examples/reliability.py", "cached", "--x", "3"))
    assert "cache hit" not in elsewhere.stderr


@pytest.mark.parametrize("file, workflow, args, expected", EXAMPLE_RUNS,
                         ids=[f"{r[0]}:{r[1]}:{i}" for i, r in enumerate(EXAMPLE_RUNS)])
def test_every_example_runs_with_the_expected_outputs(home, tmp_path, file, workflow, args, expected):
    args = [str(tmp_path) if a == TMP else a for a in args]
    done = succeeded(slipstream(home, "run", "--json", f"examples/{file}", workflow, *args))
    assert json.loads(last_line(done)) == expected


@pytest.mark.parametrize("file, workflow, options, expected", GATED_RUNS)
def test_gated_examples_run_with_their_signals_given_ahead(home, file, workflow, options, expected):
    done = succeeded(slipstream(home, "run", "--json", *options, f"examples/{file}", workflow))
    assert json.loads(last_line(done)) == expected


@pytest.fixture(scope="module")
def example_specs(home) -> list[dict]:
    return json.loads(succeeded(slipstream(home, "serialize", "examples", "--version", "v1")).stdout)


def test_the_examples_table_covers_every_workflow_and_launch_plan(example_specs):
    """So that a new example cannot go untested here."""
    found = set()
    for spec in example_specs:
        if spec["kind"] == "workflow":
            module, _, name = spec["id"]["name"].rpartition(".")
            found.add((f"{module}.py", name))
        elif spec["kind"] == "launch_plan":
            module = spec["workflow"]["name"].rpartition(".")[0]
            found.add((f"{module}.py", spec["id"]["name"]))
    covered = {(f, w) for f, w, *_ in EXAMPLE_RUNS + FAILING_RUNS + GATED_RUNS} | NOT_RUN
    assert found == covered


def test_serialize_prints_valid_specs_and_is_deterministic(home):
    first = succeeded(slipstream(home, "serialize", "examples/hello.py", "--version", "v1"))
    second = succeeded(slipstream(home, "serialize", "examples/hello.py", "--version", "v1"))
    assert first.stdout == second.stdout
    specs = json.loads(first.stdout)
    assert isinstance(specs, list)
    for spec in specs:
        check_spec_shape(spec)
    assert {(s["kind"], s["id"]["name"]) for s in specs} == {
        ("task", "hello.t1"), ("task", "hello.t2"), ("workflow", "hello.my_wf")}
    assert {s["id"]["version"] for s in specs} == {"v1"}
    assert {(s["id"]["project"], s["id"]["domain"]) for s in specs} == {("local", "development")}


def test_serialize_to_a_folder_writes_one_file_per_spec(home, tmp_path):
    done = succeeded(slipstream(home, "serialize", "examples/hello.py", "--version", "v1", "-o", str(tmp_path)))
    assert "wrote 3 specs" in done.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["task.hello.t1.json", "task.hello.t2.json", "workflow.hello.my_wf.json"]
    for path in tmp_path.iterdir():
        check_spec_shape(json.loads(path.read_text()))


def test_serialize_of_a_different_version_changes_only_versions(home):
    v1 = json.loads(succeeded(slipstream(home, "serialize", "examples/hello.py", "--version", "v1")).stdout)
    v2 = json.loads(succeeded(slipstream(home, "serialize", "examples/hello.py", "--version", "v2")).stdout)
    assert json.dumps(v1).replace('"v1"', '"v2"') == json.dumps(v2)
