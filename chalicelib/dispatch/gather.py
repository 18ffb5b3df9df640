"""A map task's gather step, the dispatcher's `gather` message: collect the items' outputs, check the map's
min_success_ratio, then release its dependents. Split from chalicelib.dispatcher (a mixin of `Dispatcher`) so
that each module holds one concern; it uses the dispatcher's stores, plan reader and queue."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.compiler.plan import PlanNode
from chalicelib.data import node_outputs
from chalicelib.errors import NotFoundError
from chalicelib.store.executions import utcnow


class MapGathering:
    GATHER_CHUNK = 1000  # map items per gather message: 1,000 S3 reads and record writes on 16 threads
    store: Any
    blobs: Any
    sqs: Any

    def _on_gather(self, m: dict[str, Any]) -> None:
        """A map of a few items is gathered here; a larger one in chunks of `GATHER_CHUNK` items, one message
        each (fanned out by the first), each writing its items' results to S3 and adding itself to the map
        record's gathered chunks: the chunk that completes the set finishes the map. So no invocation reads
        more than a chunk's items, whatever the map's size (100,000 items: 100 messages)."""
        x, node_id = m["x"], m["n"]
        node = self.plan(x).nodes[node_id]
        values = self._cached_json(f"{x}/{node_id}/inputs.json")
        count = len(values[node.mapped_inputs[0]]) if node.mapped_inputs else 0
        size = self.GATHER_CHUNK
        chunks = max(1, math.ceil(count / size))
        if chunks == 1 or self.sqs is None:
            self._finish_gather(m, node, count, self._gather_items(x, node_id, range(count)))
            return
        start = m.get("c")
        if start is None:
            self._send_all([{**m, "c": i} for i in range(0, count, size)])
            return
        partial = f"{x}/{node_id}/gather/{start}.json"
        self.blobs.put_json(partial, self._gather_items(x, node_id, range(start, min(start + size, count))))
        if self.store.add_gathered(x, node_id, str(start)) < chunks:
            return
        with ThreadPoolExecutor(max_workers=16) as pool:
            parts = pool.map(self.blobs.get_json, [f"{x}/{node_id}/gather/{i}.json" for i in range(0, count, size)])
            results = [result for part in parts for result in part]
        self._finish_gather(m, node, count, results)

    def _gather_items(self, x: str, node_id: str, indices: range) -> list[dict[str, Any] | None]:
        """Each item's outputs (None if it failed), its record ended: SUCCEEDED or FAILED."""

        def item(i: int) -> dict[str, Any] | None:
            path = f"{node_id}.{i}"
            try:
                result = self.blobs.get_json(node_outputs(x, path))
            except NotFoundError:
                self.store.update_node(x, path, "FAILED", ended_at=utcnow())
                return None
            self.store.update_node(x, path, "SUCCEEDED", outputs_key=node_outputs(x, path), ended_at=utcnow())
            return result

        with ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(item, indices))

    def _finish_gather(self, m: dict[str, Any], node: PlanNode, count: int,
                       results: list[dict[str, Any] | None]) -> None:
        x, token, plan = m["x"], m["tok"], self.plan(m["x"])
        failed = [i for i, r in enumerate(results) if r is None]
        succeeded = count - len(failed)
        if count and succeeded / count < node.min_success_ratio:
            message = (f"map task [{node.id}]: {succeeded} of {count} items succeeded, below min_success_ratio "
                       f"{node.min_success_ratio}; failed items: {failed[:10]}")
            self.store.update_node(x, node.id, "FAILED", ended_at=utcnow(), error={"kind": "user", "message": message})
            self.fail_token(token, "slipstream.MapFailed", message)
            return
        names = [v["name"] for v in plan.tasks[node.task]["interface"]["outputs"]]  # type: ignore[index]
        outputs = {name: [r[name] if r else None for r in results] for name in names}
        key = self.blobs.put_json(node_outputs(x, node.id), outputs)
        self.store.update_node(x, node.id, "SUCCEEDED", outputs_key=key, ended_at=utcnow())
        self._release_dependents(x, plan, node.id)
        self.succeed_token(token, {})
