"""A dispatcher of its own on the session's moto server, driven message by message, with every AWS call it makes
counted through botocore's event hooks: the join and gather tests read the calls, not the timings.

The harness has its own queue (so the sandbox's dispatch workers never take its messages) and its own pynamodb
models (so the sandbox's traffic never reaches its counters). Plans are written by hand: N task nodes, one
join node depending on them all, or one map node."""

from __future__ import annotations

import collections
import copy
import dataclasses
import json
import uuid
from typing import Any

import pytest

from chalicelib.compiler.plan import ExecutionPlan, PlanNode
from chalicelib.dispatcher import Dispatcher
from chalicelib.services import aws_client
from chalicelib.store import BlobStore
from chalicelib.store.executions import ExecutionStore
from chalicelib.store.models import build_models
from tests.unit.ir_builders import INT, task_spec

TASK_KEY = "p/development/noop@v1"
TASK = task_spec("noop", {"x": INT}, {"o0": INT})


@pytest.fixture(scope="session")
def join_harness(sandbox: Any) -> Harness:
    """One per session: its clients take seconds to build on a loaded machine; tests start from `fresh()`."""
    return Harness(sandbox)


class Counted:
    """Counts the API operations of the botocore clients it watches, by operation name."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def reset(self) -> None:
        self.calls.clear()


class Harness:
    def __init__(self, sandbox: Any, sfn: Any = None, **settings: Any) -> None:
        sqs = aws_client(sandbox.settings, "sqs")
        queue = sqs.create_queue(QueueName=f"joins-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        self.settings = dataclasses.replace(sandbox.settings, dispatch_queue_url=queue, **settings)
        self.models = build_models(dataclasses.replace(self.settings, name_prefix=f"j{uuid.uuid4().hex[:8]}"))
        self.counted = Counted()
        self.counted.watch(self.models.NodeExecution._get_connection().connection.client)
        self.store = ExecutionStore(self.models)
        self.blobs = BlobStore(self.counted.watch(aws_client(self.settings, "s3")), self.settings.data_bucket)
        self.sqs = self.counted.watch(sqs)
        self.sfn = self.counted.watch(sfn or aws_client(self.settings, "stepfunctions"))
        self.dispatcher = Dispatcher(self.settings, self.store, self.blobs, self.sfn, None, None,  # type: ignore[arg-type]
                                     self.models.TaskCache, self.sqs)
        self.fresh()

    def answering_through(self, sfn: Any) -> Harness:
        """This harness with a dispatcher whose Step Functions client is `sfn` (counted like the others)."""
        other = copy.copy(self)
        other.sfn = self.counted.watch(sfn)
        other.dispatcher = Dispatcher(self.settings, self.store, self.blobs, other.sfn, None, None,  # type: ignore[arg-type]
                                      self.models.TaskCache, self.sqs)
        return other.fresh()

    def fresh(self) -> Harness:
        """A new execution, counters at zero and the dispatcher's class defaults: building clients takes
        seconds on a loaded machine, so tests share one harness and start each from here."""
        self.x = f"p/development/x{uuid.uuid4().hex[:10]}"
        self.handled: list[tuple[dict[str, Any], collections.Counter[str]]] = []  # drained: (message, its calls)
        self.counted.reset()
        for limit in ("GATHER_CHUNK", "GATHER_ITEMS", "RELEASE_INLINE", "RELEASE_PER_MESSAGE"):
            vars(self.dispatcher).pop(limit, None)
        return self

    def write_plan(self, nodes: list[PlanNode]) -> ExecutionPlan:
        plan = ExecutionPlan(nodes={n.id: n for n in nodes}, outputs={}, tasks={TASK_KEY: TASK}, output_types={},
                             input_types={})
        plan_key = self.blobs.put_json(f"{self.x}/plan.json", plan.to_dict())
        self.blobs.put_json(f"{self.x}/context.json", {"plan_key": plan_key})
        self.blobs.put_json(f"{self.x}/inputs.json", {})
        return plan

    def join_plan(self, width: int) -> list[str]:
        deps = [f"n{i}" for i in range(width)]
        nodes = [PlanNode(id=d, kind="task", task=TASK_KEY) for d in deps]
        self.write_plan([*nodes, PlanNode(id="j", kind="task", task=TASK_KEY, deps=deps)])
        return deps

    def done(self, node: str) -> None:
        self.dispatcher.handle({"t": "done", "x": self.x, "n": node, "r": {}})

    def wait(self, node: str, token: str) -> None:
        self.dispatcher.handle({"t": "wait", "x": self.x, "n": node, "tok": token})

    def map_plan(self, items: int, *, min_success_ratio: float = 1.0, dependents: int = 0) -> None:
        after = [PlanNode(id=f"a{i}", kind="task", task=TASK_KEY, deps=["m"]) for i in range(dependents)]
        self.write_plan([PlanNode(id="m", kind="map", task=TASK_KEY, mapped_inputs=["x"],
                                  min_success_ratio=min_success_ratio), *after])
        self.blobs.put_json(f"{self.x}/m/inputs.json", {"x": list(range(items))})

    def drain(self) -> int:
        """Handle every message on the harness's queue (the ones the dispatcher sent itself); how many."""
        handled = 0
        while True:
            got = self.sqs.receive_message(QueueUrl=self.settings.dispatch_queue_url, MaxNumberOfMessages=10)
            messages = got.get("Messages", [])
            if not messages:
                return handled
            for message in messages:
                before = collections.Counter(self.counted.calls)
                body = json.loads(message["Body"])
                self.dispatcher.handle(body)
                self.handled.append((body, self.counted.calls - before))
                self.sqs.delete_message(QueueUrl=self.settings.dispatch_queue_url,
                                        ReceiptHandle=message["ReceiptHandle"])
                handled += 1
