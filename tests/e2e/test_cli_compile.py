"""`slipstream compile FILE WORKFLOW --asl --output DIR` as a user types it: the state machines an
execution would create, written one `<machine name>.asl.json` each, root first, valid for AWS."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from chalicelib.compiler.asl import compile_asl
from chalicelib.config import Settings
from chalicelib.executions import asl_options
from tests.support.asl import asl_errors
from tests.support.cli import slipstream, succeeded
from tests.unit.compiler.asl_corpus import plan_of

pytestmark = pytest.mark.e2e


def written(done: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    """The definitions the command listed on stdout, in its order, by machine name."""
    paths = [Path(line) for line in done.stdout.splitlines()]
    assert paths and all(p.name.endswith(".asl.json") for p in paths), done.stdout
    return {p.name.removesuffix(".asl.json"): json.loads(p.read_text()) for p in paths}


def test_compile_writes_what_an_execution_creates_and_aws_accepts(tmp_path, examples_on_path):
    import map_reduce

    from slipstream.serialization import LOCAL

    done = succeeded(slipstream(tmp_path, "compile", "examples/map_reduce.py", "inverses", "--asl",
                                "--output", str(tmp_path / "asl")))
    definitions = written(done)
    expected = compile_asl(plan_of(map_reduce.inverses.compile(LOCAL).closure()),
                           asl_options(Settings.for_stack("slipstream")))
    assert definitions == expected.definitions and next(iter(definitions)) == expected.root
    assert all(re.fullmatch(r"slipstream_[0-9a-f]{40}", name) for name in definitions)
    assert sorted(p.name for p in (tmp_path / "asl").iterdir()) == sorted(f"{n}.asl.json" for n in definitions)
    assert f"the root is {expected.root}" in done.stderr
    assert asl_errors(definitions) == {}


def test_a_launch_plan_compiles_its_workflow_under_the_deployments_prefix(tmp_path):
    done = succeeded(slipstream(tmp_path, "compile", "examples/launch_plans.py", "nightly_greeting", "--asl",
                                "--output", str(tmp_path / "out"), "--prefix", "stage-b"))
    definitions = written(done)
    assert len(definitions) == 1 and all(re.fullmatch(r"stage-b_[0-9a-f]{40}", n) for n in definitions)
    assert asl_errors(definitions) == {}


@pytest.mark.parametrize("args, says", [
    (["examples/hello.py", "my_wf", "--output", "out"], "--asl"),
    (["examples/hello.py", "my_wf", "--asl"], "--output"),
    (["examples/hello.py", "my_wf", "--asl", "--output", "out", "--prefix", "has space"], "prefix [has space]"),
    (["examples/hello.py", "nope", "--asl", "--output", "out"], "[nope] is not a task, workflow or launch plan"),
    (["examples/hello.py", "t1", "--asl", "--output", "out"], "[t1] in [examples/hello.py] is a task"),
])
def test_usage_errors_exit_2_with_one_line_and_write_nothing(tmp_path, args, says):
    done = slipstream(tmp_path, "compile", *args)
    assert done.returncode == 2, done
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (Path(__file__).resolve().parents[2] / "out").exists()
