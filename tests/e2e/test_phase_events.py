"""Phase change events on the sandbox's EventBridge bus (chalicelib.events): one run's every execution and node
phase change arrives once, through the sandbox's rule → queue → events.jsonl as a user's automation receives it,
in an order its sequence and ranks reconstruct; and only a write that moved a phase publishes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from click.testing import CliRunner

from chalicelib.events import EXECUTION_CHANGE, NODE_CHANGE, EventBridgePublisher, Outbox, PhaseChange
from chalicelib.store.executions import ExecutionStore
from slipstream.sandbox.phase_events import FILE_NAME, read_records

pytestmark = pytest.mark.e2e
DEADLINE_SECONDS = 60.0  # stops a hung test only


def _events_of(sandbox, name: str, nodes: int) -> list[dict[str, Any]]:
    """The recorded events of execution `name` in change order, once its end and its `nodes` nodes' ends are in."""
    end = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < end:
        found = [r for r in read_records(sandbox.home / FILE_NAME) if r["execution"] == name]
        ended = [r for r in found if r["phase"] == "SUCCEEDED"]
        if len(ended) == nodes + 1:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the events of {name} did not all come: {[r['id'] for r in found]}")


def _in_order(events: list[dict[str, Any]]) -> None:
    """Each event's previous phase is the phase of the one before it: none is missing, none is out of order."""
    phases = [e["phase"] for e in events]
    assert [e["previous_phase"] for e in events] == [None, *phases[:-1]], events
    assert [e["rank"] for e in events] == sorted({e["rank"] for e in events}), events


def test_a_run_publishes_each_phase_change_once_and_the_cli_shows_them(sandbox, runner, tmp_path):
    execution = runner.run("hello.my_wf", {"a": 1, "b": "events"})
    assert execution["phase"] == "SUCCEEDED", execution.get("error")
    name = execution["id"]["name"]
    nodes = runner.nodes(name)

    events = _events_of(sandbox, name, len(nodes))

    assert len({e["id"] for e in events}) == len(events)
    own = [e for e in events if e["type"] == EXECUTION_CHANGE]
    assert [e["phase"] for e in own] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    _in_order(own)
    assert own[-1]["id"] == f"default/development/{name}#SUCCEEDED"
    assert own[-1]["event"]["source"] == "slipstream" and own[-1]["event"]["detail"]["version"] == "1"
    for node in nodes:
        changes = [e for e in events if e["type"] == NODE_CHANGE and e["node"] == node]
        assert changes[-1]["phase"] == "SUCCEEDED" and "RUNNING" in [e["phase"] for e in changes], changes
        _in_order(changes)
        assert own[0]["sequence"] <= changes[0]["sequence"] and changes[-1]["sequence"] <= own[-1]["sequence"]

    (tmp_path / "sandbox").symlink_to(sandbox.home)  # the CLI reads $SLIPSTREAM_HOME/sandbox
    env = {"SLIPSTREAM_HOME": str(tmp_path)}
    from slipstream.cli.main import cli

    lines = CliRunner().invoke(cli, ["sandbox", "events", "--json"], env=env, catch_exceptions=False).output
    text = CliRunner().invoke(cli, ["sandbox", "events"], env=env, catch_exceptions=False).output
    shown = [json.loads(line)["id"] for line in lines.splitlines()]
    assert [i for i in shown if i.startswith(f"default/development/{name}#")] == [e["id"] for e in events]
    assert f"default/development/{name}: RUNNING → SUCCEEDED" in text
    assert f"default/development/{name} node n0: RUNNING → SUCCEEDED" in text
    # n1 follows its only dependency n0 in the state machine (no wait state): queued, then running
    assert f"default/development/{name} node n1: QUEUED → RUNNING" in text


class Recording(EventBridgePublisher):
    """Our own publisher interface, keeping the changes instead of sending them."""

    def __init__(self) -> None:
        super().__init__(lambda: None, "unused")
        self.changes: list[PhaseChange] = []

    def put(self, changes: list[PhaseChange]) -> None:
        self.changes.extend(changes)


def test_only_a_write_that_moved_a_phase_publishes(sandbox):
    publisher = Recording()
    store = ExecutionStore(sandbox.services.executions.store.models, Outbox(publisher))
    name = f"events-{uuid.uuid4().hex[:8]}"
    x = f"default/development/{name}"

    record, created = store.create("default", "development", name, workflow={"name": "wf"})
    assert created and not store.create("default", "development", name, workflow={"name": "wf"})[1]
    assert store.set_phase(record, "RUNNING") and not store.set_phase(record, "RUNNING")
    assert store.update_node(x, "n0", "WAITING") and store.update_node(x, "n0", "RUNNING")
    assert store.update_node(x, "n0", "RUNNING", attempts=2)  # a retry's next attempt: written, not announced
    assert not store.update_node(x, "n0", "QUEUED")  # backwards: refused
    assert store.update_node(x, "n0", attempts=3)  # no phase
    assert store.update_node(x, "n0", "FAILED") and not store.update_node(x, "n0", "SUCCEEDED")
    assert store.update_node(f"{x}/n4", "n1", "WAITING")  # a dynamic node's child graph

    assert [(c.node, c.phase, c.previous_phase) for c in publisher.changes] == [
        (None, "QUEUED", None), (None, "RUNNING", "QUEUED"), ("n0", "WAITING", None), ("n0", "RUNNING", "WAITING"),
        ("n0", "FAILED", "RUNNING"), ("n4/n1", "WAITING", None)]
    assert {c.execution for c in publisher.changes} == {name}
    sequences = [c.sequence for c in publisher.changes]
    assert sequences == sorted(sequences)
