"""A map task's gather step, the dispatcher's `gather` message: collect the items' outputs, check the map's
min_success_ratio, then release its dependents. Split from chalicelib.dispatcher (a mixin of `Dispatcher`) so
that each module holds one concern; it uses the dispatcher's stores, plan reader and queue.

What one gather costs, and why (a map of 100,000 items must finish inside G's timeout, in the sandbox too):

- Reads. An unbatched item's pod writes its own `<node>.<i>/outputs.json`: one S3 read per item. A batched
  map's pod (`map_task(..., batch_size=n)`) writes ONE `<node>.<first>/batch.json` for its batch, every item's
  outputs or error in it (slipstream.entrypoint): one read per batch, so 100,000 items in pods of 1,000 are
  100 reads, not 100,000.
- Records. An unbatched item has a record of its own (its pod's: attempts, pod, logs): each is ended
  SUCCEEDED or FAILED, read 100 at a time (BatchGetItem) and written 25 at a time (BatchWriteItem), not one
  conditional UpdateItem per item. BatchWriteItem cannot be conditional; it needs not be here: G runs once
  the Map state has ended, so every item's R state is over and no writer moves an item forward any more.
  Phases already final when read are left alone; the only writes that may land between the read and the
  write close an ended execution's open records (ABORTED, TIMED_OUT), which the gather's outcome — the
  item's outputs exist or not — then replaces with what really happened. A batched map's items have no
  records of their own: its batch records (`<node>.<first>`, the pod's) end SUCCEEDED, or FAILED listing
  their failed items and messages; the map's own record carries `items`, the summary (count, succeeded,
  failed, the first failed indices). Readers: chalicelib.executions lists records as they are; the
  console shows a map's children, so a batched map shows one chip per batch and its failures by batch.
- Chunks. A map of more than one chunk is gathered by one message per chunk (cursor `c`), fanned out by
  the first: each reads at most `GATHER_CHUNK` objects and `GATHER_ITEMS` items, writes its part to S3 and
  adds itself to the map record's gathered chunks; the chunk that completes the set finishes the map.
- Clock. G's timeout is the map's own, `gather_seconds`: the deployment's `gather_timeout_seconds` plus
  `CHUNK_SECONDS` per chunk (the worst case is every chunk handled one after another), at most an
  execution's life. The map size is known only when W resolves the map's lists, so W's answer carries it
  (`$.m.g`, read by G's TimeoutSecondsPath). A failed G (its timeout) is caught into GF (`gather_failed`),
  which records the failure on the map node itself, so the execution names the map, not an item.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.compiler.plan import PlanNode
from chalicelib.data import attempt_prefix, node_outputs
from chalicelib.errors import NotFoundError
from chalicelib.executions import asl_options
from chalicelib.store.executions import utcnow

MAP_FAILED = "slipstream.MapFailed"
GATHER_TIMED_OUT = "slipstream.GatherTimedOut"
FAILED_LISTED = 100  # failed item indices kept on the map's record and messages per batch record


def batch_results(x: str, node_id: str, first: int) -> str:
    """Where a batched map's pod writes its batch's results (slipstream.entrypoint writes the same key)."""
    return f"{x}/{node_id}.{first}/batch.json"


class MapGathering:
    GATHER_CHUNK = 1000  # S3 objects read per gather message (items, or batches of a batched map), on 16 threads
    GATHER_ITEMS = 50_000  # items per gather message at most: bounds its memory and its part in S3
    CHUNK_SECONDS = 120  # G's allowance per chunk: two 60 s Lambda timeouts, should the first attempt die
    store: Any
    blobs: Any
    sqs: Any
    settings: Any

    def chunk_items(self, node: PlanNode) -> int:
        """Items per gather chunk: whole batches of a batched map."""
        unit = node.batch_size or 1
        return unit * max(1, min(self.GATHER_CHUNK, self.GATHER_ITEMS // unit))

    def gather_seconds(self, node: PlanNode, count: int) -> int:
        """G's timeout for a map of `count` items (see the module docstring)."""
        options = asl_options(self.settings)
        chunks = max(1, math.ceil(count / self.chunk_items(node)))
        return min(options.gather_timeout_seconds + chunks * self.CHUNK_SECONDS, options.max_execution_seconds)

    def _on_gather(self, m: dict[str, Any]) -> None:
        """A map of one chunk is gathered here; a larger one one message per chunk (see the module docstring),
        so no invocation reads more than a chunk, whatever the map's size."""
        x, node_id = m["x"], m["n"]
        node = self.plan(x).nodes[node_id]  # type: ignore[attr-defined]
        values = self.blobs.get_immutable_json(f"{x}/{node_id}/inputs.json")  # type: ignore[attr-defined]
        count = len(values[node.mapped_inputs[0]]) if node.mapped_inputs else 0
        size = self.chunk_items(node)
        chunks = max(1, math.ceil(count / size))
        if chunks == 1 or self.sqs is None:
            self._finish_gather(m, node, count, self._gather_chunk(x, node, 0, count))
            return
        start = m.get("c")
        if start is None:
            self._send_all([{**m, "c": i} for i in range(0, count, size)])  # type: ignore[attr-defined]
            return
        partial = f"{x}/{node_id}/gather/{start}.json"
        self.blobs.put_json(partial, self._gather_chunk(x, node, start, min(start + size, count)))
        if self.store.add_gathered(x, node_id, str(start)) < chunks:
            return
        with ThreadPoolExecutor(max_workers=16) as pool:
            parts = pool.map(self.blobs.get_json, [f"{x}/{node_id}/gather/{i}.json" for i in range(0, count, size)])
            results = [result for part in parts for result in part]
        self._finish_gather(m, node, count, results)

    def _gather_chunk(self, x: str, node: PlanNode, start: int, end: int) -> list[dict[str, Any] | None]:
        """Items `start` to `end`: each one's outputs, None if it failed; their records ended."""
        if node.batch_size:
            return self._gather_batches(x, node, start, end)
        return self._gather_items(x, node.id, range(start, end))

    def _gather_items(self, x: str, node_id: str, indices: range) -> list[dict[str, Any] | None]:
        """Unbatched items: one S3 read each; their records ended in batches (see the module docstring)."""

        def read(i: int) -> dict[str, Any] | None:
            try:
                return self.blobs.get_json(node_outputs(x, f"{node_id}.{i}"))  # type: ignore[no-any-return]
            except NotFoundError:
                return None

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(read, indices))
        now = utcnow()
        ends: dict[str, tuple[str, dict[str, Any]]] = {}
        for i, result in zip(indices, results, strict=True):
            path = f"{node_id}.{i}"
            if result is None:
                ends[path] = ("FAILED", {"ended_at": now})
            else:
                ends[path] = ("SUCCEEDED", {"outputs_key": node_outputs(x, path), "ended_at": now})
        self.store.end_nodes(x, ends)
        return results

    def _gather_batches(self, x: str, node: PlanNode, start: int, end: int) -> list[dict[str, Any] | None]:
        """A batched map's batches from `start` (a batch's first item) to `end`: one S3 read per batch, one
        record per batch ended (FAILED with its failed items listed when any failed)."""
        size = node.batch_size or 1
        firsts = range(start, end, size)

        def read(first: int) -> dict[str, Any] | None:
            try:
                return self.blobs.get_json(batch_results(x, node.id, first))  # type: ignore[no-any-return]
            except NotFoundError:
                return None

        with ThreadPoolExecutor(max_workers=16) as pool:
            docs = list(pool.map(read, firsts))
        results: list[dict[str, Any] | None] = []
        ends: dict[str, tuple[str, dict[str, Any]]] = {}
        now = utcnow()
        for first, doc in zip(firsts, docs, strict=True):
            last = min(first + size, end) - 1
            path = f"{node.id}.{first}"
            if doc is None:
                results += [None] * (last - first + 1)
                ends[path] = ("FAILED", {"ended_at": now, "error": self._lost_batch(x, path, first, last)})
                continue
            results += doc["outputs"]
            errors = doc.get("errors") or {}
            if not errors:
                ends[path] = ("SUCCEEDED", {"ended_at": now, "outputs_key": batch_results(x, node.id, first)})
                continue
            listed = sorted(errors, key=int)[:FAILED_LISTED]
            message = (f"{len(errors)} of {last - first + 1} items of batch [{first}..{last}] failed; "
                       f"{errors[listed[0]]['message']}")
            ends[path] = ("FAILED", {"ended_at": now, "outputs_key": batch_results(x, node.id, first), "error": {
                "kind": "user", "message": message,
                "items": [{"index": int(i), "message": errors[i]["message"]} for i in listed]}})
        self.store.end_nodes(x, ends)
        return results

    def _lost_batch(self, x: str, path: str, first: int, last: int) -> dict[str, Any]:
        """Why a batch left no results (its pod failed, timed out or never started): its last attempt's error."""
        record = self.store.node(x, path)
        attempt = max(int(getattr(record, "attempts", None) or 1) - 1, 0)
        try:
            error = self.blobs.get_json(f"{attempt_prefix(x, path, attempt)}/error.json")
            reason = error["message"]
        except NotFoundError:
            reason = "its pod left no error (open the batch's log)"
        return {"kind": "system", "message": f"batch [{first}..{last}] left no results: {reason}"}

    def _finish_gather(self, m: dict[str, Any], node: PlanNode, count: int,
                       results: list[dict[str, Any] | None]) -> None:
        x, token, plan = m["x"], m["tok"], self.plan(m["x"])  # type: ignore[attr-defined]
        failed = [i for i, r in enumerate(results) if r is None]
        succeeded = count - len(failed)
        items = {"count": count, "succeeded": succeeded, "failed": len(failed), "failed_items": failed[:FAILED_LISTED]}
        if node.batch_size:
            items["batch_size"] = node.batch_size
        if count and succeeded / count < node.min_success_ratio:
            message = (f"map task [{node.id}]: {succeeded} of {count} items succeeded, below min_success_ratio "
                       f"{node.min_success_ratio}; failed items: {failed[:10]}")
            self.store.update_node(x, node.id, "FAILED", ended_at=utcnow(), map_items=items,
                                   error={"kind": "user", "message": message})
            self.fail_token(token, MAP_FAILED, message)  # type: ignore[attr-defined]
            return
        names = [v["name"] for v in plan.tasks[node.task]["interface"]["outputs"]]  # type: ignore[index]
        outputs = {name: [r[name] if r else None for r in results] for name in names}
        key = self.blobs.put_json(node_outputs(x, node.id), outputs)
        self.store.update_node(x, node.id, "SUCCEEDED", outputs_key=key, ended_at=utcnow(), map_items=items)
        self._release_dependents(x, plan, node.id)  # type: ignore[attr-defined]
        self.succeed_token(token, {})  # type: ignore[attr-defined]

    def _on_gather_failed(self, m: dict[str, Any]) -> None:
        """G failed: the map's own verdict (below its ratio, recorded already) is passed on; anything else (G's
        timeout) is recorded on the map node, naming it, before the execution fails."""
        x, node_id, token = m["x"], m["n"], m["tok"]
        error = m.get("e") or {}
        name, cause = error.get("Error") or "", error.get("Cause") or ""
        if name == MAP_FAILED:
            self.fail_token(token, MAP_FAILED, cause)  # type: ignore[attr-defined]
            return
        message = (f"map task [{node_id}]: its items ended, but gathering their outputs did not finish within its "
                   f"timeout of {m.get('s')} s ({name or 'failed'}); see the dispatcher's log for why")
        self.store.update_node(x, node_id, "FAILED", ended_at=utcnow(), error={"kind": "system", "message": message})
        self.fail_token(token, GATHER_TIMED_OUT, message)  # type: ignore[attr-defined]
