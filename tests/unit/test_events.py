"""The phase change event contract (chalicelib.events) and its batching, without AWS: entries and ids, PutEvents'
limits, the outbox that holds an invocation's changes, and a publisher that never fails its handler."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

import boto3
import pytest
from botocore.config import Config

from chalicelib.events import (
    EXECUTION_CHANGE,
    MAX_BATCH_BYTES,
    NODE_CHANGE,
    SOURCE,
    VERSION,
    EventBridgePublisher,
    Outbox,
    PhaseChange,
    batches,
    entry_size,
    micros,
)

AT = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


class Recording(EventBridgePublisher):
    """Our own publisher interface, keeping each call's changes instead of sending them."""

    def __init__(self) -> None:
        super().__init__(lambda: None, "stack-events")
        self.puts: list[list[str]] = []

    def put(self, changes: list[PhaseChange]) -> None:
        self.puts.append([c.id for c in changes])


def change(n: int, node: str | None = "n0") -> PhaseChange:
    return PhaseChange("p", "d", f"x{n}", "RUNNING", 2, micros(AT) + n, node=node)


def test_an_execution_change_is_an_entry_of_the_documented_shape():
    moved = PhaseChange("p", "development", "x1", "SUCCEEDED", 2, micros(AT), previous_phase="RUNNING")
    entry = moved.entry("stack-events")
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"], entry["Time"]) == (
        SOURCE, EXECUTION_CHANGE, "stack-events", AT)
    assert json.loads(entry["Detail"]) == {
        "version": VERSION, "id": "p/development/x1#SUCCEEDED",
        "execution": {"project": "p", "domain": "development", "name": "x1"}, "phase": "SUCCEEDED",
        "previous_phase": "RUNNING", "rank": 2, "sequence": 1767323045678901,
        "time": "2026-01-02T03:04:05.678901+00:00"}


def test_a_node_change_names_its_node_and_leaves_out_an_unknown_previous_phase():
    entry = PhaseChange("p", "development", "x1", "WAITING", 0, micros(AT), node="n4/n1").entry("b")
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == NODE_CHANGE
    assert (detail["node"], detail["id"]) == ("n4/n1", "p/development/x1#n4/n1#WAITING")
    assert "previous_phase" not in detail


def test_ids_depend_on_execution_node_and_phase_only():
    again = PhaseChange("p", "d", "x", "RUNNING", 2, micros(AT) + 5, node="n0", previous_phase="QUEUED")
    assert again.id == PhaseChange("p", "d", "x", "RUNNING", 2, micros(AT), node="n0").id
    others = {PhaseChange("p", "d", "x", "RUNNING", 1, 0).id, PhaseChange("p", "d", "x", "QUEUED", 0, 0).id,
              PhaseChange("p", "d", "x", "RUNNING", 2, 0, node="n0").id, PhaseChange("p", "d", "y", "RUNNING", 1, 0).id}
    assert len(others) == 4


def test_sequence_is_exact_microseconds_and_time_round_trips():
    assert micros(AT) == 1767323045678901
    assert change(0, None).time == AT


def test_batches_keep_order_within_ten_entries_and_256_kb():
    entries = [change(n).entry("b") for n in range(23)]
    cut = list(batches(entries))
    assert [len(b) for b in cut] == [10, 10, 3] and [e for b in cut for e in b] == entries
    big = dict(entries[0], Detail="x" * (MAX_BATCH_BYTES // 3))  # three do not fit in one call, two do
    cut = list(batches([big] * 5))
    assert [len(b) for b in cut] == [2, 2, 1]
    assert all(sum(entry_size(e) for e in b) <= MAX_BATCH_BYTES for b in cut)


def test_an_open_batch_holds_changes_and_puts_them_ten_at_a_time_when_it_ends():
    publisher = Recording()
    outbox = Outbox(publisher)
    with outbox.batch():
        for n in range(23):
            outbox.add(change(n))
        assert [len(p) for p in publisher.puts] == [10, 10]  # a full call goes at once
    assert [len(p) for p in publisher.puts] == [10, 10, 3]
    assert [i for p in publisher.puts for i in p] == [change(n).id for n in range(23)]


def test_a_batch_that_raises_still_puts_its_changes():
    publisher = Recording()
    outbox = Outbox(publisher)
    with pytest.raises(RuntimeError), outbox.batch():
        outbox.add(change(1))
        raise RuntimeError("the handler failed after a phase was written")
    assert publisher.puts == [[change(1).id]]


def test_with_no_batch_open_a_change_goes_at_once_and_nested_batches_flush_at_each_end():
    publisher = Recording()
    outbox = Outbox(publisher)
    outbox.add(change(1))
    assert publisher.puts == [[change(1).id]]
    with outbox.batch():
        with outbox.batch():
            outbox.add(change(2))
        assert publisher.puts[-1] == [change(2).id]
        outbox.add(change(3))
    assert publisher.puts[-1] == [change(3).id]
    assert Outbox(None).add(change(4)) is None  # no bus: nothing to do


def test_a_change_from_another_thread_during_a_batch_goes_out_with_it():
    publisher = Recording()
    outbox = Outbox(publisher)
    with outbox.batch():
        worker = threading.Thread(target=outbox.add, args=(change(7),))  # a thread pool's write, e.g. map items
        worker.start()
        worker.join()
        assert publisher.puts == []
    assert publisher.puts == [[change(7).id]]


def test_a_publisher_that_cannot_reach_eventbridge_logs_the_ids_and_does_not_raise(caplog):
    def unreachable():  # a real client, at a port nothing listens on
        return boto3.client("events", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                            aws_access_key_id="x", aws_secret_access_key="x",
                            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=1))

    publisher = EventBridgePublisher(unreachable, "stack-events")
    with caplog.at_level(logging.WARNING, logger="chalicelib.events"):
        publisher.put([change(1), change(2)])
    assert publisher.calls == 1
    assert change(1).id in caplog.text and change(2).id in caplog.text and "stack-events" in caplog.text


def test_the_stack_has_the_bus_and_only_phase_writers_may_put_events_on_it_alone():
    from slipstream.deploy.policies import function_statements
    from slipstream.deploy.template import ENVIRONMENT
    from slipstream.sandbox.infra import load_template

    bus = load_template()["Resources"]["EventBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert bus["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-events"}
    assert ENVIRONMENT["SLIPSTREAM_EVENTS_BUS_NAME"] == {"Ref": "EventBus"}
    for kind in ("api", "dispatch", "status", "schedules", "reconcile"):
        putting = [s for s in function_statements(kind, ["ExecutionsTable"], "Logs")
                   if any(a.startswith("events:") for a in s.get("Action", []))]  # not the Fn::If ones
        expected = [] if kind == "reconcile" else [["events:PutEvents"]]  # the reconciler writes no phase
        assert [s["Action"] for s in putting] == expected, kind
        assert all(s["Resource"] == {"Fn::GetAtt": ["EventBus", "Arn"]} for s in putting), kind
