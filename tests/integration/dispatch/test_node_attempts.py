"""Each attempt of a node keeps its start, end and outcome (chalicelib.attempts), at no extra write: the run
message's one UpdateItem adds the attempt and, on a retry, closes the one before it. The dispatcher runs on the
session's moto server (join_harness) and launches on the Kubernetes API emulator; the test plays the pod."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from chalicelib.compiler.plan import PlanNode
from chalicelib.data import attempt_prefix
from chalicelib.dispatch import KubernetesLauncher
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from chalicelib.dispatcher import Dispatcher
from chalicelib.store.executions import node_view
from tests.integration.dispatch.conftest import CONFIG, ROLE_PATTERN
from tests.integration.dispatch.join_harness import TASK_KEY, Harness, join_harness  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration
DYNAMODB_READS = ("GetItem", "BatchGetItem", "Query", "Scan")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def test_a_node_retried_once_keeps_two_attempts_with_times_and_outcomes(join_harness, kube):  # noqa: F811
    # GIVEN a one-node execution whose dispatcher launches pods on the emulator
    h: Harness = join_harness.fresh()
    project = f"a{uuid.uuid4().hex[:10]}"
    NamespaceProvisioner(kube, ROLE_PATTERN).provision(project, ["development"])
    h.x = f"{project}/development/x{uuid.uuid4().hex[:10]}"
    h.write_plan([PlanNode(id="n0", kind="task", task=TASK_KEY)])
    dispatcher = Dispatcher(h.settings, h.store, h.blobs, h.sfn, None, KubernetesLauncher(kube, CONFIG),  # type: ignore[arg-type]
                            h.models.TaskCache, h.sqs)
    run = {"t": "run", "x": h.x, "n": "n0", "tok": "tok-0", "a": 0}

    # WHEN the first attempt starts (its message delivered twice), fails as the entrypoint reports it,
    h.counted.reset()
    dispatcher.handle(run)
    assert h.counted.calls["UpdateItem"] == 1, h.counted.calls  # RUNNING and the attempt: one write
    dispatcher.handle(run)
    failed_at = _now()
    h.blobs.put_json(f"{attempt_prefix(h.x, 'n0', 0)}/error.json",
                     {"kind": "user", "message": "RuntimeError: boom", "traceback": "", "ended": failed_at})
    # and Step Functions' Retry sends the second attempt, which succeeds
    h.counted.reset()
    dispatcher.handle({**run, "a": 1, "tok": "tok-1"})
    retry_calls = dict(h.counted.calls)
    succeeded_at = _now()
    dispatcher.handle({"t": "done", "x": h.x, "n": "n0", "r": {"ended": succeeded_at}})

    # THEN the retry cost one write and one S3 read (the failed attempt's error), no DynamoDB read
    assert retry_calls.get("UpdateItem") == 1 and retry_calls.get("GetObject") == 1, retry_calls
    assert not any(retry_calls.get(op) for op in DYNAMODB_READS), retry_calls
    # and the node shows both attempts: the first among its previous ones, the second its own fields
    view = node_view(h.store.node(h.x, "n0"))
    (first,) = view["previous_attempts"]
    assert (first["attempt"], first["outcome"], first["error"]) == (0, "FAILED", "RuntimeError: boom"), first
    assert first["ended_at"] == failed_at
    assert (view["attempts"], view["phase"], view["ended_at"]) == (2, "SUCCEEDED", succeeded_at)
    assert first["started_at"] < first["ended_at"] < view["started_at"] < view["ended_at"], view
