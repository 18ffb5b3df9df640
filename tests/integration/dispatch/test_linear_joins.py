"""Joins cost one write per finished input and no reads, whatever the order of the wait and its inputs;
a node with many dependents releases them through the queue; a large map is gathered in chunks. The dispatcher
runs against the session's moto server (see `join_harness`); its AWS calls are counted by botocore's hooks."""

from __future__ import annotations

import pytest

from chalicelib.data import node_outputs
from tests.integration.dispatch.join_harness import Harness, join_harness  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration
READS = ("GetItem", "BatchGetItem", "Query", "Scan")
WIDTH = 40  # the cost per input does not depend on the width


@pytest.fixture()
def h(join_harness) -> Harness:  # noqa: F811
    return join_harness.fresh()


def reads(calls) -> int:
    return sum(calls[op] for op in READS)


def test_a_wide_join_reads_nothing_and_writes_once_per_input(h):
    deps = h.join_plan(WIDTH)
    h.wait("j", "tok-j")
    h.counted.reset()
    for dep in deps:
        h.done(dep)
    assert reads(h.counted.calls) == 0, h.counted.calls
    # per input: its own SUCCEEDED and one ADD to the join's set; then the claim and QUEUED of the join
    assert h.counted.calls["UpdateItem"] == 2 * WIDTH + 2, h.counted.calls
    assert h.counted.calls["SendTaskSuccess"] == 1
    record = h.store.node(h.x, "j")
    assert (record.phase, record.wait_token, len(record.finished_deps)) == ("QUEUED", None, WIDTH)


def test_inputs_that_finish_before_the_wait_release_it_when_it_comes(h):
    deps = h.join_plan(30)
    for dep in deps[:20]:
        h.done(dep)  # no record to add to yet: nothing written for the join
    assert h.store.node(h.x, "j") is None
    h.wait("j", "tok-j")
    assert h.store.node(h.x, "j").finished_deps == set(deps[:20])  # read once, at the wait
    for dep in deps[20:]:
        h.done(dep)
    assert h.counted.calls["SendTaskSuccess"] == 1
    assert h.store.node(h.x, "j").phase == "QUEUED"


def test_the_wait_arriving_last_releases_exactly_once_and_redelivery_changes_nothing(h):
    deps = h.join_plan(5)
    for dep in deps:
        h.done(dep)
    h.wait("j", "tok-j")
    assert h.counted.calls["SendTaskSuccess"] == 1
    h.wait("j", "tok-j")  # SQS delivers at least once
    for dep in deps:
        h.done(dep)
    assert h.counted.calls["SendTaskSuccess"] == 1


def test_a_redelivered_done_counts_once(h):
    h.join_plan(3)
    h.wait("j", "tok-j")
    for dep in ("n0", "n0", "n1", "n1"):
        h.done(dep)
    assert h.counted.calls["SendTaskSuccess"] == 0
    assert h.store.node(h.x, "j").wait_token == "tok-j"
    h.done("n2")
    assert h.counted.calls["SendTaskSuccess"] == 1


def test_a_wide_fan_out_is_released_through_the_queue_in_bounded_messages(h):
    h.dispatcher.RELEASE_INLINE, h.dispatcher.RELEASE_PER_MESSAGE = 8, 10
    width = 30
    h.write_plan(list(_fan_out(width)))
    for i in range(width):
        h.wait(f"d{i}", f"tok-{i}")
    h.counted.reset()
    h.done("root")
    assert h.counted.calls["SendTaskSuccess"] == 0  # none released inline
    assert h.counted.calls["SendMessageBatch"] == 1  # 3 release messages of 10 dependents each
    assert h.drain() == 3
    assert [calls["SendTaskSuccess"] for _, calls in h.handled] == [10, 10, 10]
    assert {n.sk: n.phase for n in h.store.nodes(h.x) if n.sk.startswith("d")} == {
        f"d{i}": "QUEUED" for i in range(width)}


def _fan_out(width: int):
    from chalicelib.compiler.plan import PlanNode
    from tests.integration.dispatch.join_harness import TASK_KEY

    yield PlanNode(id="root", kind="task", task=TASK_KEY)
    for i in range(width):
        yield PlanNode(id=f"d{i}", kind="task", task=TASK_KEY, deps=["root"])


def test_a_large_map_is_gathered_in_chunks_and_finishes_once(h):
    h.dispatcher.GATHER_CHUNK = 10
    h.map_plan(25, min_success_ratio=0.9, dependents=2)
    for dep in ("a0", "a1"):
        h.wait(dep, f"tok-{dep}")
    for i in range(25):
        if i != 13:  # item 13 failed: no outputs
            h.blobs.put_json(node_outputs(h.x, f"m.{i}"), {"o0": i * 10})
    h.dispatcher.handle({"t": "gather", "x": h.x, "n": "m", "tok": "tok-m"})
    assert h.drain() == 3
    chunk_reads = [calls["GetObject"] for message, calls in h.handled if "c" in message]
    assert max(chunk_reads) <= 10 + 3, chunk_reads  # its items, plus the last chunk reading the 3 partials
    outputs = h.blobs.get_json(node_outputs(h.x, "m"))
    assert outputs == {"o0": [None if i == 13 else i * 10 for i in range(25)]}
    nodes = {n.sk: n.phase for n in h.store.nodes(h.x)}
    assert nodes["m"] == "SUCCEEDED" and nodes["m.13"] == "FAILED" and nodes["m.24"] == "SUCCEEDED"
    assert (nodes["a0"], nodes["a1"]) == ("QUEUED", "QUEUED")
    assert h.counted.calls["SendTaskSuccess"] == 3  # the gather's token and the two dependents'


def test_a_chunked_map_below_its_ratio_fails_with_the_count(h):
    h.dispatcher.GATHER_CHUNK = 4
    h.map_plan(8)
    for i in range(6):
        h.blobs.put_json(node_outputs(h.x, f"m.{i}"), {"o0": i})
    h.dispatcher.handle({"t": "gather", "x": h.x, "n": "m", "tok": "tok-m"})
    h.drain()
    record = h.store.node(h.x, "m")
    assert record.phase == "FAILED"
    assert "6 of 8 items succeeded" in record.error["message"] and "[6, 7]" in record.error["message"]
    assert h.counted.calls["SendTaskFailure"] == 1 and h.counted.calls["SendTaskSuccess"] == 0
