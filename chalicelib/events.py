"""Phase change events: what the control plane puts on its deployment's EventBridge bus (`<stack>-events`,
Settings.events_bus_name) each time an execution or one of its nodes moves to a new phase, so that users can
hang their own automation off it (a rule on that bus matching `source` and `detail-type`).

The contract, version "1" (a change that breaks it gets a new `version`; fields may be added within one):

    Source      "slipstream"
    DetailType  "Execution Phase Change" | "Node Phase Change"
    Detail      {
      "version":        "1",
      "id":             "<project>/<domain>/<execution>[#<node>]#<phase>", e.g. "p/development/x1#n0#RUNNING"
      "execution":      {"project": …, "domain": …, "name": …},
      "node":           the node's path ("n0", "n2.3" for a map item, "n4/n1" below a dynamic node); absent on
                        execution events
      "phase":          the new phase: QUEUED RUNNING SUCCEEDED FAILED TIMED_OUT ABORTED, and WAITING for nodes
      "previous_phase": the phase it moved from (an execution's: as its writer read it); absent on a new record
      "rank":           the phase's rank: executions QUEUED 0, RUNNING 1, ended 2; nodes WAITING 0, QUEUED 1,
                        RUNNING 2, ended 3
      "sequence":       microseconds since the epoch at which the phase was written (an integer)
      "time":           the same instant, ISO 8601 in UTC
    }

Deduplicate by `id`: EventBridge delivers at least once, and a phase is entered at most once per execution or
node (phases only move forward, every write is conditional, and only a write that moved a phase publishes:
a repeated status event or a retried node re-entering RUNNING publishes nothing).

Order: one node's events are totally ordered by `rank`; an execution's events (its own and its nodes') by
(`sequence`, `rank`). The clock is read just before the conditional write that moves the phase. Why not a
counter on the execution record: that is one more DynamoDB write per change, on one item per execution, and
a wide fan-out (a map of thousands of items, all moving at once) would make that item hot — DynamoDB allows
one partition 1,000 writes a second, so the counter would throttle the very writes it numbers. Writers on
different hosts may disagree by milliseconds: two changes that race (two nodes, or a fast task's end and its
start) may come in either order by time, which is why a node's own order is its ranks.

Publishing: changes are buffered in an `Outbox` while a handler invocation is open (`Outbox.batch()`, opened by
the entry points: chalicelib.handlers and app.py's middleware and schedule handler) and put in batches of at
most ten entries and 256 KB, PutEvents' limits: one call per ten changes, flushed when the invocation ends,
whether it returned or raised, so no change waits in a buffer for the next invocation. A change written with
no batch open is put at once. Publishing is best effort: the phase is already written, and failing the handler
would make Lambda redo work that is done; a lost event is logged with its id, the execution record stays the
truth.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

VERSION = "1"
SOURCE = "slipstream"
EXECUTION_CHANGE = "Execution Phase Change"
NODE_CHANGE = "Node Phase Change"
MAX_ENTRIES = 10  # PutEvents: entries per call
MAX_BATCH_BYTES = 256 * 1024  # PutEvents: bytes per call, counted as AWS counts them (entry_size)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def micros(at: dt.datetime) -> int:
    """Microseconds since the epoch: exact, where a float timestamp would round."""
    return (at - _EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class PhaseChange:
    """One moved phase: of the execution, or of its node `node` when given."""

    project: str
    domain: str
    execution: str
    phase: str
    rank: int
    sequence: int  # microseconds since the epoch (micros)
    node: str | None = None
    previous_phase: str | None = None

    @property
    def id(self) -> str:
        node = f"#{self.node}" if self.node is not None else ""
        return f"{self.project}/{self.domain}/{self.execution}{node}#{self.phase}"

    @property
    def time(self) -> dt.datetime:
        return _EPOCH + dt.timedelta(microseconds=self.sequence)

    def detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "version": VERSION, "id": self.id,
            "execution": {"project": self.project, "domain": self.domain, "name": self.execution},
        }
        if self.node is not None:
            detail["node"] = self.node
        detail["phase"] = self.phase
        if self.previous_phase is not None:
            detail["previous_phase"] = self.previous_phase
        detail.update(rank=self.rank, sequence=self.sequence, time=self.time.isoformat())
        return detail

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The PutEvents entry of this change, on the bus `bus_name`."""
        return {"Source": SOURCE, "DetailType": NODE_CHANGE if self.node is not None else EXECUTION_CHANGE,
                "Detail": json.dumps(self.detail(), separators=(",", ":")), "EventBusName": bus_name,
                "Time": self.time}


def node_change(execution_key: str, node_id: str, phase: str, rank: int, at: dt.datetime,
                previous_phase: str | None = None) -> PhaseChange:
    """The change of node `node_id` of the execution keyed `execution_key` (`<project>/<domain>/<name>`, or
    `…/<name>/<node>` for a dynamic node's child graph, whose nodes are announced under the root execution as
    `<node>/<child node>`), written at `at`."""
    project, domain, name, *parents = execution_key.split("/")
    return PhaseChange(project, domain, name, phase, rank, micros(at), node="/".join([*parents, node_id]),
                       previous_phase=previous_phase)


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as PutEvents counts it: Time 14 bytes, and the UTF-8 bytes of Source, DetailType, Detail."""
    return 14 + sum(len(entry[key].encode()) for key in ("Source", "DetailType", "Detail"))


def batches(entries: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """`entries` in order, cut into PutEvents calls of at most MAX_ENTRIES and MAX_BATCH_BYTES."""
    batch: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        grown = size + entry_size(entry)
        if batch and (len(batch) == MAX_ENTRIES or grown > MAX_BATCH_BYTES):
            yield batch
            batch, grown = [], entry_size(entry)
        batch.append(entry)
        size = grown
    if batch:
        yield batch


class EventBridgePublisher:
    """Puts changes on one bus. The `events` client comes from `client` (a factory, called on the first put,
    so a Lambda that publishes nothing never builds it)."""

    def __init__(self, client: Callable[[], Any], bus_name: str) -> None:
        self._factory = client
        self._client: Any = None
        self._lock = threading.Lock()
        self.bus_name = bus_name
        self.calls = 0  # PutEvents calls made (tests and benchmarks count them)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    def put(self, changes: list[PhaseChange]) -> None:
        """Put `changes` in as few calls as PutEvents allows; never raises (module docstring)."""
        for batch in batches([change.entry(self.bus_name) for change in changes]):
            self.calls += 1
            ids = [json.loads(entry["Detail"])["id"] for entry in batch]
            try:
                result = self.client.put_events(Entries=batch)
            except Exception:  # best effort: the phases are written; the handler must not fail for an event
                logger.exception("phase change events %s were not put on bus %s", ids, self.bus_name)
                continue
            for event_id, answer in zip(ids, result.get("Entries", []), strict=False):
                if answer.get("ErrorCode"):
                    logger.warning("phase change event %s was not put on bus %s: %s %s", event_id, self.bus_name,
                                   answer["ErrorCode"], answer.get("ErrorMessage"))


class Outbox:
    """The phase changes of the open handler invocations, put in batches when one ends (module docstring).

    One outbox serves every thread of a process (the sandbox answers requests and runs workers side by side,
    a dispatcher writes a map's items from a thread pool): a change written while any batch is open waits for
    the next batch to end, and every end puts all that waits. With none open, a change is put at once.
    `publisher` None (no bus configured) publishes nothing."""

    def __init__(self, publisher: EventBridgePublisher | None = None) -> None:
        self.publisher = publisher
        self._lock = threading.Lock()
        self._open = 0
        self._waiting: list[PhaseChange] = []

    def add(self, change: PhaseChange) -> None:
        if self.publisher is None:
            return
        with self._lock:
            if not self._open:
                ready = [change]
            else:
                self._waiting.append(change)
                if len(self._waiting) < MAX_ENTRIES:
                    return
                ready, self._waiting = self._waiting, []  # a full call: no need to hold it
        self.publisher.put(ready)

    @contextmanager
    def batch(self) -> Iterator[Outbox]:
        """Hold the changes written inside, and put them when the block ends, however it ends."""
        with self._lock:
            self._open += 1
        try:
            yield self
        finally:
            with self._lock:
                self._open -= 1
                ready, self._waiting = self._waiting, []
            if ready and self.publisher is not None:
                self.publisher.put(ready)
