"""Execution and node execution records in DynamoDB. Phases only move forward: every update is
conditional on the stored rank being lower, so repeated or out-of-order events change nothing. The one
exception is `end_nodes`, a map gather's batched writes, for the reason its docstring gives.

Hot partition keys, decided against spreading. Every node record of one execution shares the partition key
`<project>#<domain>#<execution>` (a wide fan-out or map writes thousands of them at once). The node-executions
table has no local secondary index, so DynamoDB may split that item collection across partitions by sort key
when it runs hot ("split for heat"), and one partition key is not capped at one partition's 1,000 writes a
second: the ceiling per record is per item (each node path is its own item), which a node never nears. Spreading
the key (`#<shard>` suffixes) would cost every reader of an execution's nodes N queries instead of one and buy
nothing the split does not. Batched map items no longer write records per item (one per batch, see
chalicelib.dispatch.gather), which removes the widest burst. The executions table is different and left as is:
its partition key is the project-domain and it has an LSI (by_created), so its item collection cannot split:
one project-domain is held to one partition's 1,000 writes and 3,000 strong reads a second and 10 GB
(millions of executions); the writes per execution are few (its phases), so this binds only at hundreds of
executions started a second in one project-domain — changing it is a table migration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import size

from chalicelib.attempts import previous_attempts
from chalicelib.errors import NotFoundError
from chalicelib.events import Outbox, PhaseChange, micros, node_change
from chalicelib.store.models import Models
from chalicelib.store.pagination import decode_token, encode_token

PHASE_RANK = {"QUEUED": 0, "RUNNING": 1, "SUCCEEDED": 2, "FAILED": 2, "TIMED_OUT": 2, "ABORTED": 2}
NODE_RANK = {"WAITING": 0, "QUEUED": 1, "RUNNING": 2, "SUCCEEDED": 3, "FAILED": 3, "TIMED_OUT": 3, "ABORTED": 3}
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) in ("ConditionalCheckFailedException",
                                                          "TransactionCanceledException")


class ExecutionStore:
    def __init__(self, models: Models, events: Outbox | None = None) -> None:
        self.models = models
        self.events = events or Outbox()  # every write that moves a phase adds its change (chalicelib.events)

    # executions

    def create(self, project: str, domain: str, name: str, **fields: Any) -> tuple[Any, bool]:
        """(record, created): an existing record of that name is returned as is, for idempotent creation."""
        now = utcnow()
        Execution = self.models.Execution
        item = Execution(
            pk=f"{project}#{domain}", sk=name, created=f"{now.isoformat()}#{name}",
            phase_key=f"{project}#{domain}#QUEUED", workflow_key=f"{project}#{domain}#{fields['workflow']['name']}",
            project=project, domain=domain, name=name, phase="QUEUED", phase_rank=0, created_at=now, **fields,
        )
        try:
            item.save(condition=Execution.pk.does_not_exist())
        except PutError as exc:
            if _condition_failed(exc):
                return self.get(project, domain, name), False
            raise
        self.events.add(PhaseChange(project, domain, name, "QUEUED", PHASE_RANK["QUEUED"], micros(now)))
        return item, True

    def get(self, project: str, domain: str, name: str) -> Any:
        try:
            return self.models.Execution.get(f"{project}#{domain}", name, consistent_read=True)
        except self.models.Execution.DoesNotExist:
            raise NotFoundError(f"execution [{project}/{domain}/{name}] does not exist") from None

    def set_phase(self, record: Any, phase: str, **fields: Any) -> bool:
        """Move an execution to `phase` (and set `fields`) unless it is already there or beyond."""
        Execution = self.models.Execution
        rank = PHASE_RANK[phase]
        actions = [Execution.phase.set(phase), Execution.phase_rank.set(rank),
                   Execution.phase_key.set(f"{record.project}#{record.domain}#{phase}")]
        actions += [getattr(Execution, k).set(v) for k, v in fields.items()]
        previous, now = record.phase, utcnow()
        try:
            record.update(actions=actions, condition=Execution.phase_rank < rank)
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        self.events.add(PhaseChange(record.project, record.domain, record.name, phase, rank, micros(now),
                                    previous_phase=previous))
        return True

    def set_fields(self, record: Any, **fields: Any) -> None:
        Execution = self.models.Execution
        record.update(actions=[getattr(Execution, k).set(v) for k, v in fields.items()])

    def list(self, project: str, domain: str, *, phase: str | None, workflow: str | None, limit: int,
             token: str | None) -> tuple[list[Any], str | None]:
        """Newest first; a phase or workflow filter reads its own index, never a scan."""
        Execution = self.models.Execution
        if workflow:
            start = decode_token(token, f"{project}#{domain}#{workflow}", {"pk", "sk", "created", "workflow_key"},
                                 "workflow_key")
            condition = Execution.phase == phase if phase else None
            results = Execution.by_workflow.query(f"{project}#{domain}#{workflow}", filter_condition=condition,
                                                  scan_index_forward=False, limit=limit, last_evaluated_key=start)
        elif phase:
            keys = {"pk", "sk", "created", "phase_key"}
            start = decode_token(token, f"{project}#{domain}#{phase}", keys, "phase_key")
            results = Execution.by_phase.query(f"{project}#{domain}#{phase}", scan_index_forward=False,
                                               limit=limit, page_size=limit, last_evaluated_key=start)
        else:
            start = decode_token(token, f"{project}#{domain}", {"pk", "sk", "created"})
            results = Execution.by_created.query(f"{project}#{domain}", scan_index_forward=False, limit=limit,
                                                 page_size=limit, last_evaluated_key=start)
        items = list(results)
        return items, encode_token(results.last_evaluated_key if len(items) == limit else None)

    # node executions

    def node(self, execution_key: str, node_id: str) -> Any | None:
        try:
            return self.models.NodeExecution.get(execution_key, node_id, consistent_read=True)
        except self.models.NodeExecution.DoesNotExist:
            return None

    def nodes(self, execution_key: str) -> list[Any]:
        return list(self.models.NodeExecution.query(execution_key, consistent_read=True))

    def node_phases(self, execution_key: str, node_ids: list[str]) -> dict[str, str]:
        if not node_ids:
            return {}
        found = self.models.NodeExecution.batch_get([(execution_key, n) for n in node_ids], consistent_read=True)
        return {item.sk: item.phase for item in found}

    def update_node(self, execution_key: str, node_id: str, phase: str | None = None, **fields: Any) -> bool:
        """Create or update a node record; a phase only moves forward (False if it would go back)."""
        Node = self.models.NodeExecution
        actions = [getattr(Node, k).set(v) for k, v in fields.items()]
        if phase is None:
            Node(pk=execution_key, sk=node_id).update(actions=actions)
            return True
        return self._move_node(execution_key, node_id, phase, actions)

    def start_attempt(self, execution_key: str, node_id: str, attempt: int, entry: dict[str, Any],
                      previous: dict[str, Any] | None = None, **fields: Any) -> bool:
        """RUNNING for `attempt` with `fields`, its `entry` added to the node's attempt log and, on a retry, the
        attempt before it closed with `previous` (ended_at, outcome, error): one write (chalicelib.attempts).
        The log takes attempt n only while it holds n entries, so a redelivered run message adds nothing twice
        and a log with a gap is left alone (its node still moves). False if the node has ended already (a fast
        pod): then what it ran is kept, and its log entry."""
        Node = self.models.NodeExecution
        log = Node.attempt_log
        if attempt == 0:
            log_actions, log_condition = [log.set([entry])], log.does_not_exist()
        else:
            log_actions = [log[attempt].set(entry)]  # an index just past the end appends
            log_actions += [log[attempt - 1][k].set(v) for k, v in (previous or {}).items()]
            log_condition = size(log) == attempt
        actions = [getattr(Node, k).set(v) for k, v in fields.items()]
        if self._move_node(execution_key, node_id, "RUNNING", actions + log_actions, log_condition):
            return True
        if self.update_node(execution_key, node_id, "RUNNING", **fields):
            return True  # the log refused the entry (a redelivery), the phase did not
        try:
            Node(pk=execution_key, sk=node_id).update(actions=actions + log_actions, condition=log_condition)
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise
        return False

    def _move_node(self, execution_key: str, node_id: str, phase: str, actions: Sequence[Any],
                   also: Any = None) -> bool:
        Node = self.models.NodeExecution
        item = Node(pk=execution_key, sk=node_id)
        rank = NODE_RANK[phase]
        actions = [*actions, Node.phase.set(phase), Node.phase_rank.set(rank)]
        condition = Node.phase_rank.does_not_exist() | (Node.phase_rank < rank)
        if phase in ("RUNNING", "QUEUED"):  # a retry's next attempt: the same phase again, and no new event
            condition = Node.phase_rank.does_not_exist() | (Node.phase_rank <= rank)
        if also is not None:
            condition = condition & also
        now = utcnow()
        try:  # through the table connection: Model.update returns the new item only, and the event needs the old
            old = item._get_connection().update_item(execution_key, range_key=node_id, actions=actions,
                                                     condition=condition, return_values="ALL_OLD")
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        previous = old.get("Attributes", {}).get("phase", {}).get("S")
        if previous != phase:
            self.events.add(node_change(execution_key, node_id, phase, rank, now, previous))
        return True

    def claim_wait_token(self, execution_key: str, node_id: str, token: str) -> bool:
        """Take a stored wait token so that exactly one caller answers it."""
        Node = self.models.NodeExecution
        try:
            Node(pk=execution_key, sk=node_id).update(actions=[Node.wait_token.remove()],
                                                      condition=Node.wait_token == token)
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def take_slot(self, project: str, domain: str, name: str, node: str, limit: int) -> bool:
        """One of an execution's `limit` task slots for `node` (again, for its next attempt), or False when all
        are taken: one conditional update, so concurrent dispatchers can never exceed the limit."""
        Execution = self.models.Execution
        running = Execution.running_nodes
        try:
            Execution(pk=f"{project}#{domain}", sk=name).update(
                actions=[running.add({node})],
                condition=running.does_not_exist() | running.contains(node) | (size(running) < limit))
        except UpdateError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def free_slot(self, project: str, domain: str, name: str, node: str) -> None:
        Execution = self.models.Execution
        Execution(pk=f"{project}#{domain}", sk=name).update(actions=[Execution.running_nodes.delete({node})])

    def return_wait_token(self, execution_key: str, node_id: str, token: str) -> None:
        """Give back a claimed token whose answer did not go through, so the redelivered message finds it."""
        Node = self.models.NodeExecution
        try:
            Node(pk=execution_key, sk=node_id).update(actions=[Node.wait_token.set(token)],
                                                      condition=Node.wait_token.does_not_exist())
        except UpdateError as exc:
            if not _condition_failed(exc):
                raise

    # joins: one write per finished dependency, never a re-read of the others

    def wait_on_deps(self, execution_key: str, node_id: str, token: str, **fields: Any) -> Any | None:
        """Store a node's wait token (WAITING) and return the record as written, finished dependencies
        included; None if the node has moved past WAITING (a redelivered wait message)."""
        Node = self.models.NodeExecution
        item = Node(pk=execution_key, sk=node_id)
        actions = [Node.wait_token.set(token), Node.phase.set("WAITING"), Node.phase_rank.set(NODE_RANK["WAITING"])]
        actions += [getattr(Node, k).set(v) for k, v in fields.items()]
        now = utcnow()
        try:
            item.update(actions=actions, condition=Node.phase_rank.does_not_exist())
        except UpdateError as exc:
            if _condition_failed(exc):
                return self.node(execution_key, node_id)
            raise
        self.events.add(node_change(execution_key, node_id, "WAITING", NODE_RANK["WAITING"], now))  # as update_node
        return item

    def add_finished_deps(self, execution_key: str, node_id: str, deps: set[str]) -> Any | None:
        """Add `deps` to the succeeded dependencies of a node that is waiting (or beyond), in one update, and
        return its record as written; None if its wait has not been stored yet (it reads the dependencies'
        phases itself when it is). A set: a redelivered message adds nothing twice."""
        Node = self.models.NodeExecution
        item = Node(pk=execution_key, sk=node_id)
        try:
            item.update(actions=[Node.finished_deps.add(deps)], condition=Node.phase_rank.exists())
        except UpdateError as exc:
            if _condition_failed(exc):
                return None
            raise
        return item

    def end_nodes(self, execution_key: str, ends: dict[str, tuple[str, dict[str, Any]]]) -> int:
        """End many node records at once: `ends` maps a node path to (final phase, fields). Records already in a
        final phase are left as they are; the others are read 100 at a time (BatchGetItem) and written whole 25 at
        a time (BatchWriteItem), creating those that do not exist. Not conditional, as BatchWriteItem cannot
        be: only for records no other writer moves forward any more (a map's items once its Map state ended,
        chalicelib.dispatch.gather). Each moved phase adds its change event, as `update_node` does. Returns
        how many records were written."""
        Node = self.models.NodeExecution
        found = {item.sk: item for item in Node.batch_get([(execution_key, path) for path in ends],
                                                          consistent_read=True)}
        changes = []
        now = utcnow()
        with Node.batch_write() as batch:
            for path, (phase, fields) in ends.items():
                rank = NODE_RANK[phase]
                item = found.get(path) or Node(pk=execution_key, sk=path)
                if item.phase_rank is not None and item.phase_rank >= rank:
                    continue
                previous = item.phase
                for name, value in {**fields, "phase": phase, "phase_rank": rank}.items():
                    setattr(item, name, value)
                batch.save(item)
                changes.append(node_change(execution_key, path, phase, rank, now, previous))
        for change in changes:
            self.events.add(change)
        return len(changes)

    def add_gathered(self, execution_key: str, node_id: str, chunk: str) -> int:
        """Note that a map's item chunk is gathered; how many chunks are (a set: repeating a chunk counts once)."""
        Node = self.models.NodeExecution
        item = Node(pk=execution_key, sk=node_id)
        item.update(actions=[Node.gathered.add({chunk})])
        return len(item.gathered or ())


def execution_view(record: Any) -> dict[str, Any]:
    return {
        "id": {"project": record.project, "domain": record.domain, "name": record.name},
        "phase": record.phase,
        "workflow": record.workflow,
        "launch_plan": record.launch_plan,
        "created_at": _iso(record.created_at),
        "started_at": _iso(record.started_at),
        "ended_at": _iso(record.ended_at),
        "error": record.error,
    }


def node_view(record: Any) -> dict[str, Any]:
    return {
        "node_id": record.sk,
        "task": record.task,
        "phase": record.phase,
        "attempts": int(record.attempts or 0),
        "pod": record.pod,
        "cache_hit": record.cache_hit == "true",
        "started_at": _iso(record.started_at),
        "ended_at": _iso(record.ended_at),
        "previous_attempts": previous_attempts(record.attempt_log, int(record.attempts or 0)),
        "outputs_key": record.outputs_key,
        "error": record.error,
        **({"items": record.map_items} if getattr(record, "map_items", None) else {}),
    }
