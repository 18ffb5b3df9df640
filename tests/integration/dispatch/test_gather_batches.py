"""A map's gather costs one S3 read per batch (a batched map) or per item, and its records are written in
batches: a batched map's items have no records of their own, its batch records list their failures and the map's
record summarizes them. G's timeout grows with the map, and a failed G is recorded on the map node itself. The
dispatcher runs against the session's moto server (`join_harness`), its AWS calls counted by botocore's hooks."""

from __future__ import annotations

import math

import pytest

from chalicelib.compiler.plan import PlanNode
from chalicelib.data import attempt_prefix, node_outputs
from chalicelib.dispatch.gather import batch_results
from chalicelib.executions import asl_options
from tests.integration.dispatch.join_harness import TASK_KEY, Harness, join_harness  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration


@pytest.fixture()
def h(join_harness) -> Harness:  # noqa: F811
    return join_harness.fresh()


def _batched_map(h: Harness, items: int, batch: int, ratio: float) -> PlanNode:
    node = PlanNode(id="m", kind="map", task=TASK_KEY, mapped_inputs=["x"], min_success_ratio=ratio, batch_size=batch)
    h.write_plan([node, PlanNode(id="a0", kind="task", task=TASK_KEY, deps=["m"])])
    h.blobs.put_json(f"{h.x}/m/inputs.json", {"x": list(range(items))})
    return node


def test_a_batched_map_is_gathered_one_object_per_batch_with_one_record_per_batch(h):
    # GIVEN 30 items in batches of 10, one chunk per batch: item 13 failed inside its batch, batch 20's pod
    # died (its error saved by the control plane, no results), and the pods' batch records RUNNING
    h.dispatcher.GATHER_CHUNK = 1
    _batched_map(h, 30, 10, ratio=0.6)
    h.wait("a0", "tok-a0")
    for first in (0, 10, 20):
        h.store.update_node(h.x, f"m.{first}", "RUNNING", attempts=1, pod=f"pod-{first}")
    h.blobs.put_json(batch_results(h.x, "m", 0), {"first": 0, "outputs": [{"o0": i} for i in range(10)],
                                                  "errors": {}})
    h.blobs.put_json(batch_results(h.x, "m", 10), {
        "first": 10, "outputs": [None if i == 13 else {"o0": i} for i in range(10, 20)],
        "errors": {"13": {"kind": "user", "message": "item 13: ValueError: thirteen", "traceback": ""}}})
    h.blobs.put_json(f"{attempt_prefix(h.x, 'm.20', 0)}/error.json", {"kind": "system", "message": "OOMKilled"})
    h.counted.reset()
    # WHEN the map is gathered: three chunk messages
    h.dispatcher.handle({"t": "gather", "x": h.x, "n": "m", "tok": "tok-m"})
    assert h.drain() == 3
    # THEN each chunk read its one batch (the last also the three parts), and no record was written per item
    assert [calls["GetObject"] for message, calls in h.handled].count(1) >= 2
    # the chunks' gathered set, the map's end, the release of a0 (its finished deps, its token claimed, QUEUED)
    assert h.counted.calls["UpdateItem"] == 3 + 1 + 3 and h.counted.calls["BatchWriteItem"] == 3
    assert h.blobs.get_json(node_outputs(h.x, "m")) == {
        "o0": [i for i in range(13)] + [None] + [i for i in range(14, 20)] + [None] * 10}
    nodes = {n.sk: n for n in h.store.nodes(h.x)}
    assert set(nodes) == {"m", "a0", "m.0", "m.10", "m.20"}
    assert nodes["m.0"].phase == "SUCCEEDED" and nodes["m.0"].pod == "pod-0"
    assert nodes["m.10"].phase == "FAILED" and nodes["m.10"].error["items"] == [
        {"index": 13, "message": "item 13: ValueError: thirteen"}]
    assert "1 of 10 items of batch [10..19] failed; item 13: ValueError" in nodes["m.10"].error["message"]
    assert nodes["m.20"].phase == "FAILED" and "OOMKilled" in nodes["m.20"].error["message"]
    assert nodes["m"].phase == "SUCCEEDED" and nodes["m"].map_items == {
        "count": 30, "succeeded": 19, "failed": 11, "failed_items": [13, *range(20, 30)], "batch_size": 10}
    assert nodes["a0"].phase == "QUEUED"


def test_unbatched_items_end_in_batch_writes_that_keep_what_their_pods_recorded(h):
    h.map_plan(30, min_success_ratio=0.9)
    for i in range(30):
        h.store.update_node(h.x, f"m.{i}", "RUNNING", attempts=1, pod=f"pod-{i}")
        if i != 7:
            h.blobs.put_json(node_outputs(h.x, f"m.{i}"), {"o0": i})
    h.store.update_node(h.x, "m.8", "ABORTED")  # a final phase read by the gather is left as it is
    h.counted.reset()
    h.dispatcher.handle({"t": "gather", "x": h.x, "n": "m", "tok": "tok-m"})
    assert h.counted.calls["BatchWriteItem"] == math.ceil(29 / 25) and h.counted.calls["UpdateItem"] == 1
    nodes = {n.sk: n for n in h.store.nodes(h.x)}
    assert nodes["m.7"].phase == "FAILED" and nodes["m.8"].phase == "ABORTED"
    assert nodes["m.29"].phase == "SUCCEEDED" and nodes["m.29"].pod == "pod-29" and nodes["m.29"].attempts == 1
    assert nodes["m.29"].outputs_key == node_outputs(h.x, "m.29")
    assert nodes["m"].map_items["failed_items"] == [7]


def test_the_gathers_timeout_grows_with_the_maps_chunks_and_is_bounded(h):
    options = asl_options(h.settings)
    h.dispatcher.GATHER_CHUNK = 10
    plain = PlanNode(id="m", kind="map", task=TASK_KEY, mapped_inputs=["x"])
    batched = PlanNode(id="b", kind="map", task=TASK_KEY, mapped_inputs=["x"], batch_size=7)
    base, per_chunk = options.gather_timeout_seconds, h.dispatcher.CHUNK_SECONDS
    assert h.dispatcher.gather_seconds(plain, 0) == base + per_chunk
    assert h.dispatcher.gather_seconds(plain, 25) == base + 3 * per_chunk
    assert h.dispatcher.chunk_items(batched) == 70  # whole batches: 10 objects of 7 items
    assert h.dispatcher.gather_seconds(batched, 141) == base + 3 * per_chunk
    assert h.dispatcher.gather_seconds(plain, 10**9) == options.max_execution_seconds
    plan = h.write_plan([PlanNode(id="m", kind="map", task=TASK_KEY, mapped_inputs=["x"],
                                  inputs={"x": {"input": "xs"}})])
    h.blobs.put_json(f"{h.x}/inputs.json", {"xs": list(range(25))})
    release = h.dispatcher._release_output(h.x, plan, plan.nodes["m"])
    assert release["g"] == base + 3 * per_chunk  # what G's TimeoutSecondsPath reads


def test_a_gather_that_timed_out_is_recorded_on_the_map_node(h):
    h.map_plan(5)
    h.dispatcher.handle({"t": "gather_failed", "x": h.x, "n": "m", "tok": "tok-m", "s": 1020,
                         "e": {"Error": "States.Timeout", "Cause": ""}})
    record = h.store.node(h.x, "m")
    assert record.phase == "FAILED" and record.error["kind"] == "system"
    assert record.error["message"].startswith("map task [m]: its items ended, but gathering")
    assert "1020 s" in record.error["message"] and h.counted.calls["SendTaskFailure"] == 1


def test_a_map_below_its_ratio_keeps_its_own_verdict_through_the_catch(h):
    h.map_plan(5)
    h.store.update_node(h.x, "m", "FAILED", error={"kind": "user", "message": "map task [m]: 3 of 5 items"})
    h.dispatcher.handle({"t": "gather_failed", "x": h.x, "n": "m", "tok": "tok-m", "s": 1020,
                         "e": {"Error": "slipstream.MapFailed", "Cause": "map task [m]: 3 of 5 items"}})
    assert h.store.node(h.x, "m").error["message"] == "map task [m]: 3 of 5 items"
    assert h.counted.calls["SendTaskFailure"] == 1
