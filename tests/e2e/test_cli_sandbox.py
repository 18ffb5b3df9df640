"""`slipstream sandbox`, `register`, `get` and `create` as a user types them: the real console script in
a subprocess against a sandbox it started in the background, with this module's own SLIPSTREAM_HOME.

The tests share one sandbox and run in file order; the last one stops it."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import app
from chalicelib.spec import check_spec_shape
from tests.conftest import EXAMPLES
from tests.support.cli import slipstream, succeeded

pytestmark = pytest.mark.e2e

DOCUMENT = json.loads(app.OPENAPI_PATH.read_text())
_REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(DOCUMENT, default_specification=DRAFT4))


def json_out(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(succeeded(done).stdout.strip().splitlines()[-1])


def conforms(schema_name: str, value: Any) -> None:
    """`value` (an API answer the CLI printed) fits the OpenAPI document's schema of that name."""
    validator = OAS30Validator({"$ref": f"urn:openapi#/components/schemas/{schema_name}"}, registry=_REGISTRY)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
    assert not problems, f"not a {schema_name}: {problems}"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    """A sandbox started by `slipstream sandbox start`, stopped by `slipstream sandbox stop` at the end."""
    home = tmp_path_factory.mktemp("cli-sandbox-home")
    try:
        started = slipstream(home, "sandbox", "start")
        assert started.returncode == 0, started.stderr
        assert "sandbox started: http://127.0.0.1:" in started.stdout
        yield home
    finally:
        slipstream(home, "sandbox", "stop")


@pytest.fixture(scope="module")
def registered(home) -> subprocess.CompletedProcess[str]:
    """The examples registered once at version v1 (the first registration in this sandbox)."""
    return slipstream(home, "register", "examples", "--version", "v1")


def hello_with_retries(folder: Path) -> Path:
    """A copy of examples/hello.py (module name `hello` again) whose t2 has other content: retries=1."""
    folder.mkdir(parents=True, exist_ok=True)
    source = (EXAMPLES / "hello.py").read_text()
    changed = source.replace("@task\ndef t2", "@task(retries=1)\ndef t2")
    assert changed != source
    (folder / "hello.py").write_text(changed)
    return folder


# the sandbox


def test_status_names_the_local_api(home):
    status = json_out(slipstream(home, "sandbox", "status", "--json"))
    assert status["running"] is True and status["api_url"].startswith("http://127.0.0.1:")
    assert status["project"] == "default" and status["domain"] == "development"
    shown = succeeded(slipstream(home, "sandbox", "status"))
    assert f"sandbox is running: {status['api_url']}" in shown.stdout


def test_start_again_is_idempotent(home):
    before = json_out(slipstream(home, "sandbox", "status", "--json"))
    again = succeeded(slipstream(home, "sandbox", "start"))
    assert "running" in again.stdout and before["api_url"] in again.stdout
    after = json_out(slipstream(home, "sandbox", "status", "--json"))
    assert after["api_url"] == before["api_url"] and after["pid"] == before["pid"]


def test_the_sandbox_serves_the_openapi_document(home):
    api_url = json_out(slipstream(home, "sandbox", "status", "--json"))["api_url"]
    with urllib.request.urlopen(f"{api_url}/api/v1/openapi.json", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read()) == DOCUMENT


# registration


def test_register_reports_created_entities(registered):
    succeeded(registered)
    lines = registered.stdout.splitlines()
    assert lines[0].startswith("Registered ") and "in default/development at version v1" in lines[0]
    rows = [line.split() for line in lines[1:]]
    assert {status for status, _, _ in rows} == {"created"}
    assert ["created", "workflow", "hello.my_wf"] in rows and ["created", "task", "hello.t1"] in rows
    assert ["created", "launch_plan", "nightly_greeting"] in rows
    assert ["created", "launch_plan", "hello.my_wf"] in rows  # every workflow's default launch plan
    total = int(lines[0].split()[1])
    assert total == len(rows) and f"({total} new, 0 unchanged)" in lines[0]


def test_registering_the_same_code_again_changes_nothing(home, registered):
    succeeded(registered)
    again = succeeded(slipstream(home, "register", "examples", "--version", "v1"))
    assert "(0 new," in again.stdout.splitlines()[0]
    assert {line.split()[0] for line in again.stdout.splitlines()[1:]} == {"unchanged"}
    as_json = json_out(slipstream(home, "register", "examples", "--version", "v1", "--json"))
    assert as_json["version"] == "v1" and {e["status"] for e in as_json["entities"]} == {"unchanged"}
    conforms("Registered", {"entities": as_json["entities"]})


def test_register_outside_git_needs_a_version(home, registered, tmp_path):
    code = hello_with_retries(tmp_path / "code")
    done = slipstream(home, "register", str(code))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "give --version explicitly" in done.stderr


def test_other_content_under_a_taken_version_is_refused(home, registered, tmp_path):
    succeeded(registered)
    code = hello_with_retries(tmp_path / "code")
    done = slipstream(home, "register", str(code), "--version", "v1")
    assert done.returncode == 2, done.stdout
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "already registered with different content" in done.stderr
    assert "register under a new version (--version)" in done.stderr
    # the refused batch left the store as it was
    spec = json.loads(succeeded(slipstream(home, "get", "tasks", "hello.t2", "--version", "v1")).stdout)
    assert spec["metadata"]["retries"] == 0
    # and under a new version the same code registers
    succeeded(slipstream(home, "register", str(code), "--version", "v2"))
    spec = json.loads(succeeded(slipstream(home, "get", "tasks", "hello.t2", "--version", "v2")).stdout)
    assert spec["metadata"]["retries"] == 1


# get and create


def test_get_workflows_lists_the_registered_names(home, registered):
    succeeded(registered)
    table = succeeded(slipstream(home, "get", "workflows"))
    assert "hello.my_wf" in table.stdout and "workflows in default/development" in table.stdout
    page = json_out(slipstream(home, "get", "workflows", "--json"))
    conforms("NamePage", page)
    names = {e["name"]: e["latest_version"] for e in page["entities"]}
    assert names["hello.my_wf"] in ("v1", "v2") and names["graphs.diamond"] == "v1"
    assert page["token"] is None


def test_get_workflows_pages_with_limit_and_token(home, registered):
    succeeded(registered)
    everything = json_out(slipstream(home, "get", "workflows", "--json"))["entities"]
    seen, token = [], None
    for _ in range(len(everything)):
        args = ["--token", token] if token else []
        page = json_out(slipstream(home, "get", "workflows", "--json", "--limit", "7", *args))
        assert len(page["entities"]) <= 7
        seen += page["entities"]
        token = page["token"]
        if token is None:
            break
    assert [e["name"] for e in seen] == [e["name"] for e in everything]
    table = succeeded(slipstream(home, "get", "workflows", "--limit", "7"))
    assert "more: --token " in table.stdout


def test_get_workflow_versions(home, registered):
    succeeded(registered)
    page = json_out(slipstream(home, "get", "workflows", "graphs.diamond", "--json"))
    conforms("VersionPage", page)
    assert [e["id"]["version"] for e in page["entities"]] == ["v1"]
    assert page["entities"][0]["id"] == {"project": "default", "domain": "development", "name": "graphs.diamond",
                                         "version": "v1"}
    hello = json_out(slipstream(home, "get", "workflows", "hello.my_wf", "--json"))
    assert "v1" in [e["id"]["version"] for e in hello["entities"]]
    assert "Versions of hello.my_wf" in succeeded(slipstream(home, "get", "workflows", "hello.my_wf")).stdout


def test_get_a_task_version_prints_its_spec(home, registered):
    succeeded(registered)
    spec = json.loads(succeeded(slipstream(home, "get", "tasks", "hello.t1", "--version", "v1")).stdout)
    check_spec_shape(spec)
    assert spec["kind"] == "task" and spec["function"] == {"module": "hello", "name": "t1"}
    assert spec["id"] == {"project": "default", "domain": "development", "name": "hello.t1", "version": "v1"}
    assert spec["container"]["bundle"].startswith("s3://")
    entity = json_out(slipstream(home, "get", "tasks", "hello.t1", "--version", "v1", "--json"))
    conforms("Entity", entity)
    assert entity["spec"] == spec and entity["kind"] == "task"


def test_get_an_unknown_version_exits_2(home, registered):
    succeeded(registered)
    done = slipstream(home, "get", "tasks", "hello.t1", "--version", "nope")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "task [default/development/hello.t1@nope] is not registered" in done.stderr


def test_get_launchplans_includes_named_and_default_plans(home, registered):
    succeeded(registered)
    table = succeeded(slipstream(home, "get", "launchplans"))
    assert "nightly_greeting" in table.stdout and "hello.my_wf" in table.stdout
    page = json_out(slipstream(home, "get", "launchplans", "--json"))
    conforms("NamePage", page)
    assert {"nightly_greeting", "hello.my_wf"} <= {e["name"] for e in page["entities"]}
    plan = json_out(slipstream(home, "get", "launchplans", "nightly_greeting", "--version", "v1", "--json"))
    assert plan["spec"]["fixed_inputs"] == {"name": "ops"}
    assert plan["spec"]["workflow"]["name"] == "launch_plans.greeting"


def test_create_project_once(home):
    created = succeeded(slipstream(home, "create", "project", "demo", "--description", "for the demo"))
    assert "Created project demo (domains: development, staging, production)" in created.stdout
    projects = json_out(slipstream(home, "get", "projects", "--json"))
    for project in projects:
        conforms("Project", project)
    by_name = {p["name"]: p for p in projects}
    assert {"default", "demo"} <= set(by_name) and by_name["demo"]["description"] == "for the demo"
    assert "demo" in succeeded(slipstream(home, "get", "projects")).stdout
    again = slipstream(home, "create", "project", "demo")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip() == "Error: project [demo] already exists"


def test_create_project_with_an_invalid_name_exits_2(home):
    done = slipstream(home, "create", "project", "Not_Valid")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "project [Not_Valid] is not valid" in done.stderr


def test_register_into_a_new_project(home):
    succeeded(slipstream(home, "create", "project", "team-a"))
    succeeded(slipstream(home, "register", "examples/hello.py", "-p", "team-a", "--version", "t1"))
    page = json_out(slipstream(home, "get", "workflows", "-p", "team-a", "--json"))
    assert [e["name"] for e in page["entities"]] == ["hello.my_wf"]
    missing = slipstream(home, "register", "examples/hello.py", "-p", "nobody", "--version", "t1")
    assert missing.returncode == 2 and "project [nobody] does not exist" in missing.stderr


# last: stop


def test_stop_then_status_exits_1(home):
    pid = json_out(slipstream(home, "sandbox", "status", "--json"))["pid"]
    stopped = succeeded(slipstream(home, "sandbox", "stop"))
    assert "sandbox stopped" in stopped.stdout
    status = slipstream(home, "sandbox", "status")
    assert status.returncode == 1 and "sandbox is not running" in status.stdout
    as_json = slipstream(home, "sandbox", "status", "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout) == {"running": False, "api_url": None}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)
    done = slipstream(home, "get", "workflows")
    assert done.returncode == 2 and "no control plane configured" in done.stderr
    assert "sandbox is not running" in succeeded(slipstream(home, "sandbox", "stop")).stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True
