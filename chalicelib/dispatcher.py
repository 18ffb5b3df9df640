"""The dispatcher: consumes the dispatch queue and drives each node of each execution.

Messages (sent by the state machines, see `compiler.asl`):

    wait    store the node's task token; answer it once every dependency has succeeded, with what the
            next state needs inline (a map's items, a branch's condition operands)
    run     resolve the node's inputs (a node chained after its dependency, `q`, is recorded QUEUED first),
            answer from the cache if it holds them, else start the pod
            (named from execution, node and attempt: a redelivered message finds it exists)
    done    record the node's outputs, fill the cache, and release the nodes waiting for it (not `c`, the
            dependent chained after it: the state machine starts that one itself)
    release release some of a finished node's dependents (a wide fan-out's are spread over messages)
    gather  collect a map's items, check min_success_ratio, release the map's dependents; a large map's
            items are gathered in chunks, one message each (cursor `c`), and the last chunk finishes it
    gather_failed  G failed (its timeout): recorded on the map node, then the execution fails (dispatch.gather)
    child   run the graph a dynamic task built, or a conditional case's subworkflow, as a child execution
            (answered when it ends)
    group   run a group of a split workflow as a child execution
    gate    store a signal or approval gate's token; answered with the signal (chalicelib.gates)
    gate_failed  a gate timed out or was rejected: record it on the node, then fail the execution

Every step is idempotent: node phases only move forward, a wait token is claimed before it is answered,
and answering a token twice is harmless.

Joins are linear in their inputs. A waiting node's record holds the set of its dependencies seen succeeded:
each finished dependency adds itself with one update that returns the record as written, and whichever write
completes the set while the wait token is stored (the last dependency, or the wait itself when every
dependency finished first) releases the node; `claim_wait_token` makes that exactly once. A dependency that
finishes before its dependent's wait is stored adds nothing (there is no record to add to yet); the wait
reads those dependencies' phases once, when it is stored. A finished node with many dependents releases them
through the queue, `RELEASE_PER_MESSAGE` per message, so no one invocation nears the Lambda timeout.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import attempts
from chalicelib.bindings import memoized, resolve
from chalicelib.caching import cache_key
from chalicelib.compiler import CompiledWorkflow
from chalicelib.compiler.asl import compile_asl
from chalicelib.compiler.plan import ExecutionPlan, PlanNode, branch_operands, build_plan
from chalicelib.config import Settings
from chalicelib.data import attempt_prefix, node_outputs, split_key
from chalicelib.dispatch.errors import ClusterError, ClusterUnreachable, NoCapacity
from chalicelib.dispatch.gather import MapGathering
from chalicelib.errors import SlipstreamError
from chalicelib.executions import asl_options
from chalicelib.machines import StateMachines, sfn_execution_name
from chalicelib.store import BlobStore
from chalicelib.store.executions import ExecutionStore, utcnow
from chalicelib.task_tokens import TokenAnswers

if TYPE_CHECKING:
    from chalicelib.dispatch.pods import PodRequest

logger = logging.getLogger("slipstream.dispatcher")
LAUNCH_FAILED = "slipstream.LaunchFailed"  # not in any Retry: the cluster refused the pod itself
SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries


class Launcher(Protocol):
    def launch(self, request: PodRequest) -> bool: ...

    def stop_execution(self, project: str, domain: str, execution: str) -> int: ...


class _Lru(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: str, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value


def _slot_member(x: str, path: str) -> str:
    return f"{x}#{path}"


class Dispatcher(MapGathering):
    # A release message's worst case is ceil(RELEASE_PER_MESSAGE / RELEASE_THREADS) answers in a row, each
    # retrying through throttling for up to `Backoff.budget` (10 s): 30 s, inside the 60 s Lambda timeout, so
    # no claimed token is lost to a timeout (a failed answer gives its token back).
    RELEASE_INLINE = 8  # dependents released in the finishing node's own invocation; more go through the queue
    RELEASE_PER_MESSAGE = 24
    RELEASE_THREADS = 8

    def __init__(self, settings: Settings, store: ExecutionStore, blobs: BlobStore, sfn: Any,
                 machines: StateMachines, launcher: Launcher, cache_model: Any, sqs: Any = None,
                 answers: TokenAnswers | None = None) -> None:
        self.settings = settings
        self.sqs = sqs  # to send a run message back to the queue while no task slot is free
        self.store = store
        self.blobs = blobs
        self.sfn = sfn
        self.answers = answers or TokenAnswers(sfn)  # every token answer goes through it, throttles retried
        self.machines = machines
        self.launcher = launcher
        self.cache_model = cache_model
        self._plans = _Lru(64)

    def handle(self, message: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{message.get('t')}", None)
        if handler is None:
            raise SlipstreamError(f"unknown dispatch message type [{message.get('t')}]")
        handler(message)

    # reading

    def plan(self, x: str) -> ExecutionPlan:
        context = self.blobs.get_immutable_json(f"{x}/context.json")
        key = context["plan_key"]
        if key not in self._plans:
            self._plans.remember(key, ExecutionPlan.from_dict(self.blobs.get_json(key)))
        return self._plans[key]

    def _reader(self, x: str) -> Any:
        return memoized(lambda node: self.blobs.get_json(node_outputs(x, node)))

    def _node_inputs(self, x: str, plan: ExecutionPlan, node: PlanNode) -> dict[str, Any]:
        inputs = self.blobs.get_immutable_json(f"{x}/inputs.json")
        reader = self._reader(x)
        return {name: resolve(binding, inputs, reader) for name, binding in node.inputs.items()}

    # wait

    def _on_wait(self, m: dict[str, Any]) -> None:
        x, node_id = m["x"], m["n"]
        record = self.store.wait_on_deps(x, node_id, m["tok"], task=self._task_ref(x, node_id))
        if record is None or not record.wait_token:
            return
        node = self.plan(x).nodes[node_id]
        missing = [dep for dep in node.deps if dep not in (record.finished_deps or ())]
        if missing:  # dependencies that finished before this wait was stored found no record to add to
            phases = self.store.node_phases(x, missing)
            succeeded = {dep for dep in missing if phases.get(dep) == "SUCCEEDED"}
            if not succeeded:
                return
            record = self.store.add_finished_deps(x, node_id, succeeded)
        self._release_if_ready(x, node, record)

    def _task_ref(self, x: str, node_id: str) -> dict[str, Any] | None:
        node = self.plan(x).find(node_id)
        if node.task is None:
            return {"kind": node.kind}
        spec = self.plan(x).tasks[node.task]
        return {"name": spec["id"]["name"], "version": spec["id"]["version"], "task_type": spec["task_type"],
                "kind": node.kind}

    def _release_if_ready(self, x: str, node: PlanNode, record: Any) -> None:
        """Answer the node's wait token if it is stored and every dependency has succeeded."""
        token = record.wait_token if record is not None else None
        if not token or not set(node.deps) <= set(record.finished_deps or ()):
            return
        if node.kind == "gate" and record.phase == "RUNNING":
            return  # the token is the gate's own (chalicelib.gates), stored once its wait was released
        if not self.store.claim_wait_token(x, node.id, token):
            return  # another worker released it
        try:
            try:
                output = self._release_output(x, self.plan(x), node)
            except SlipstreamError as exc:
                self.answers.fail(token, "slipstream.UserError", str(exc))
                return
            self.store.update_node(x, node.id, "QUEUED")
            self.answers.succeed(token, output)
        except Exception:  # the answer did not go through: the token must not be lost with the message
            self.store.return_wait_token(x, node.id, token)
            raise

    def _release_output(self, x: str, plan: ExecutionPlan, node: PlanNode) -> dict[str, Any]:
        if node.kind == "branch":
            inputs, reader = self.blobs.get_immutable_json(f"{x}/inputs.json"), self._reader(x)
            return {f"v{i}": resolve(b, inputs, reader) for i, b in enumerate(branch_operands(node))}
        if node.kind != "map":
            return {}
        values = self._node_inputs(x, plan, node)
        lengths = {name: len(values[name]) for name in node.mapped_inputs}
        if len(set(lengths.values())) > 1:
            raise SlipstreamError(f"map task [{node.id}]: mapped inputs have different lengths {lengths}")
        self.blobs.put_json(f"{x}/{node.id}/inputs.json", values)
        count = next(iter(lengths.values()), 0)
        items = list(range(0, count, node.batch_size or 1))  # with batches: each batch's first item
        gather = self.gather_seconds(node, count)  # G's timeout (chalicelib.dispatch.gather)
        if len(items) > asl_options(self.settings).distributed_map_threshold:
            key = self.blobs.put_json(f"{x}/{node.id}/items.json", items)
            return {"distributed": True, "bucket": self.blobs.bucket, "key": key, "count": count, "g": gather}
        return {"distributed": False, "items": items, "count": count, "g": gather}

    # run

    def _on_run(self, m: dict[str, Any]) -> None:
        x, node_id, attempt, token = m["x"], m["n"], int(m.get("a") or 0), m["tok"]
        if not self._keep_alive_if_late(m, token):
            return  # the token ended while its message waited (the execution stopped)
        plan = self.plan(x)
        node = plan.find(node_id)
        task = plan.tasks[node.task]  # type: ignore[index]
        index = m.get("i")
        path = node_id if index is None else f"{node_id}.{index}"
        if index is None:
            inputs = self._node_inputs(x, plan, node)
        else:
            inputs = self._item_inputs(x, node, index, int(m.get("b") or 0))
        ref = {"name": task["id"]["name"], "version": task["id"]["version"], "task_type": task["task_type"]}
        if m.get("q") and not attempt and not m.get("w"):  # chained: no W recorded it waiting, then queued
            self.store.update_node(x, path, "QUEUED", task=ref)
        if task["metadata"]["cache"] and not m.get("b") and self._answer_from_cache(x, path, task, inputs, token, ref):
            return
        if index is None and self._at_max_parallelism(x, path):
            self._wait_for_a_slot(m, token)
            return
        from chalicelib.dispatch.pods import PodRequest, pod_name  # the Kubernetes client: on the first launch only

        prefix = attempt_prefix(x, path, attempt)
        inputs_key = self.blobs.put_json(f"{prefix}/inputs.json", inputs)
        project, domain, _ = split_key(x)
        request = PodRequest(project=project, domain=domain, execution=x, node_id=path, attempt=attempt, task=task,
                             inputs_uri=self.blobs.uri(inputs_key), outputs_prefix=self.blobs.uri(prefix + "/"),
                             task_token=token)
        started = {"attempts": attempt + 1, "pod": pod_name(x, path, attempt), "task": ref, "started_at": utcnow()}
        try:
            created = self.launcher.launch(request)
        except NoCapacity:
            self._wait_for_a_slot(m, token)
            return
        except ClusterUnreachable:
            raise  # worth another try: SQS redelivers the message
        except ClusterError as exc:  # refused (invalid pod, no namespace, RBAC): no retry can succeed
            error = {"kind": "system", "message": f"task [{ref['name']}] (node [{path}]) could not start: {exc}"}
            self.store.update_node(x, path, "FAILED", attempts=attempt + 1, task=ref, error=error, ended_at=utcnow())
            self._free_slot(x, path)
            self.fail_token(token, LAUNCH_FAILED, error["message"])
            return
        entry = attempts.started(attempt, started["started_at"])  # its bar on the console's timeline
        previous = attempts.previous_end(self.blobs, x, path, attempt)  # a retry: how the attempt before ended
        self.store.start_attempt(x, path, attempt, entry, previous, **started)  # False: it ended already (a fast pod)
        if not created:
            logger.info("pod for %s %s attempt %s exists already: a redelivered message", x, path, attempt)

    def _keep_alive_if_late(self, m: dict[str, Any], token: str) -> bool:
        """Heartbeat a run token whose message waited in the queue longer than a pod's heartbeat interval.

        The R state's HeartbeatSeconds counts from the moment it sent the message; the launcher and the pod
        heartbeat only from when the dispatcher handles it, one interval later. A dispatch backlog (a wide
        fan-out or map: thousands of messages at once, Lambda still scaling out, or the sandbox's few worker
        threads) used to let tokens expire unseen (`States.Timeout`). One heartbeat here restarts the window
        for late messages only, so a node costs no extra call while the queue keeps up."""
        entered = m.get("e")
        if not entered or m.get("w"):
            return True
        waited = (utcnow() - dt.datetime.fromisoformat(entered)).total_seconds()
        return waited < self.settings.pod_heartbeat_seconds or self.heartbeat_token(token)

    def _item_inputs(self, x: str, node: PlanNode, index: int, batch: int) -> dict[str, Any]:
        """A map item's inputs; for a batch (`batch` items from `index`), every item's, under `$batch`, which
        no input name can be: the pod runs them one after another (slipstream.entrypoint)."""
        values = self.blobs.get_immutable_json(f"{x}/{node.id}/inputs.json")

        def item(i: int) -> dict[str, Any]:
            return {k: (v[i] if k in node.mapped_inputs else v) for k, v in values.items()}

        if not batch:
            return item(index)
        count = len(values[node.mapped_inputs[0]])
        return {"$batch": {"first": index, "items": [item(i) for i in range(index, min(index + batch, count))]}}

    def _at_max_parallelism(self, x: str, path: str) -> bool:
        """Whether the execution's launch plan caps its running tasks and no slot is free; else the node takes
        one (kept across its attempts, freed when it is done). A map task's items are bounded by the map's own
        `concurrency`, as in Flyte, and never reach here."""
        limit = self._max_parallelism(x)
        if not limit:
            return False
        project, domain, name = split_key(x)
        return not self.store.take_slot(project, domain, name, _slot_member(x, path), limit)

    def _free_slot(self, x: str, path: str) -> None:
        if self._max_parallelism(x):
            project, domain, name = split_key(x)
            self.store.free_slot(project, domain, name, _slot_member(x, path))

    def _max_parallelism(self, x: str) -> int | None:
        root = "/".join(x.split("/")[:3])  # a dynamic child's tasks count against its root execution
        return self.blobs.get_immutable_json(f"{root}/context.json").get("max_parallelism")

    def _wait_for_a_slot(self, m: dict[str, Any], token: str) -> None:
        """Every task slot is taken (the project-domain's quota, or the execution's max_parallelism): the run
        message comes back later (backing off, but always within a heartbeat window) and its token is kept
        alive meanwhile; the wait costs the task nothing, its own timeout starts with its pod. A token that
        ended meanwhile (the execution was stopped) ends the wait."""
        waits = int(m.get("w") or 0)
        if not waits:
            self.store.update_node(m["x"], m["n"] if m.get("i") is None else f"{m['n']}.{m['i']}", "QUEUED")
        delay = min(2 ** waits, self.settings.pod_heartbeat_seconds, 900)  # SQS: DelaySeconds <= 900
        if not self.heartbeat_token(token):
            return
        self.sqs.send_message(QueueUrl=self.settings.dispatch_queue_url, MessageBody=json.dumps({**m, "w": waits + 1}),
                              DelaySeconds=delay)

    def _answer_from_cache(self, x: str, path: str, task: dict[str, Any], inputs: dict[str, Any], token: str,
                           ref: dict[str, Any]) -> bool:
        key = cache_key(task, inputs)
        try:
            entry = self.cache_model.get(key, consistent_read=True)
        except self.cache_model.DoesNotExist:
            return False
        target = node_outputs(x, path)
        self.blobs.copy(entry.outputs_key, target)
        now = utcnow()
        self.store.update_node(x, path, "RUNNING", task=ref, cache_hit="true", attempts=1, started_at=now)
        self.succeed_token(token, {"outputs": target, "cache_hit": True, "started": now.isoformat(),
                                    "ended": now.isoformat()})
        return True

    # done

    def _on_done(self, m: dict[str, Any]) -> None:
        x, node_id, result = m["x"], m["n"], m.get("r") or {}
        plan = self.plan(x)
        node = plan.find(node_id)
        outputs_key = result.get("outputs") or node_outputs(x, node_id)
        # the pod's own end: a node chained after this one may start before this message is handled
        ended = dt.datetime.fromisoformat(result["ended"]) if result.get("ended") else utcnow()
        self.store.update_node(x, node_id, "SUCCEEDED", outputs_key=outputs_key, ended_at=ended)
        self._free_slot(x, node_id)
        if node.task and plan.tasks[node.task]["metadata"]["cache"] and not result.get("cache_hit"):
            self._fill_cache(x, node, plan.tasks[node.task], outputs_key)
        released = node_id
        branch = m.get("b")
        if branch:
            self.blobs.copy(outputs_key, node_outputs(x, branch))
            self.store.update_node(x, branch, "SUCCEEDED", outputs_key=node_outputs(x, branch), ended_at=utcnow())
            released = branch
        self._release_dependents(x, plan, released, chained=m.get("c"))

    def _fill_cache(self, x: str, node: PlanNode, task: dict[str, Any], outputs_key: str) -> None:
        key = cache_key(task, self._node_inputs(x, self.plan(x), node))
        entry = self.cache_model(key=key, outputs_key=outputs_key, task=task["id"], created_at=utcnow())
        try:
            entry.save(condition=self.cache_model.key.does_not_exist())
        except Exception as exc:
            logger.debug("cache entry %s exists: %s", key, exc)

    def _release_dependents(self, x: str, plan: ExecutionPlan, node_id: str, chained: str | None = None) -> None:
        """`chained`: the dependent whose states follow this node's in the state machine (no W to answer)."""
        dependents = [d for d in plan.dependents.get(node_id, []) if d != chained]
        if len(dependents) <= self.RELEASE_INLINE or self.sqs is None:
            self._release_each(x, node_id, dependents)
            return
        step = self.RELEASE_PER_MESSAGE
        self._send_all([{"t": "release", "x": x, "d": node_id, "n": dependents[i:i + step]}
                        for i in range(0, len(dependents), step)])

    def _on_release(self, m: dict[str, Any]) -> None:
        self._release_each(m["x"], m["d"], m["n"])

    def _release_each(self, x: str, finished: str, dependents: list[str]) -> None:
        """Add `finished` to each dependent's finished dependencies (one update each), releasing those it
        completes; a few threads, so a release message's work stays a few seconds."""
        plan = self.plan(x)

        def release(dependent: str) -> None:
            self._release_if_ready(x, plan.nodes[dependent], self.store.add_finished_deps(x, dependent, {finished}))

        if len(dependents) <= 1:
            for dependent in dependents:
                release(dependent)
            return
        with ThreadPoolExecutor(max_workers=min(self.RELEASE_THREADS, len(dependents))) as pool:
            list(pool.map(release, dependents))

    def _send_all(self, messages: list[dict[str, Any]]) -> None:
        """Messages to the dispatch queue, ten per SendMessageBatch; any refused entry fails the whole call,
        whose own message SQS then redelivers (every message is idempotent)."""
        for i in range(0, len(messages), SQS_BATCH):
            entries = [{"Id": str(j), "MessageBody": json.dumps(body)}
                       for j, body in enumerate(messages[i:i + SQS_BATCH])]
            sent = self.sqs.send_message_batch(QueueUrl=self.settings.dispatch_queue_url, Entries=entries)
            if sent.get("Failed"):
                raise SlipstreamError(f"the dispatch queue refused {len(sent['Failed'])} messages: "
                                      f"{sent['Failed'][0].get('Message')}")

    # child executions

    def _on_child(self, m: dict[str, Any]) -> None:
        x, node_id, token = m["x"], m["n"], m["tok"]
        inputs: dict[str, Any] = {}
        if m.get("r") is None:  # a conditional case calling a subworkflow: closure and inputs from the plan
            parent = self.plan(x)
            case = parent.find(node_id)
            closure, inputs = case.closure or {}, self._node_inputs(x, parent, case)
        else:
            self._free_slot(x, node_id)  # its pod has ended; the tasks it built need slots of their own
            closure = self.blobs.get_json(m["r"]["dynamic"])
        try:
            plan = build_plan(CompiledWorkflow.from_closure(closure))
            machines = compile_asl(plan, asl_options(self.settings))
        except SlipstreamError as exc:  # the graph the task built at run time: the user's to fix
            self.fail_token(token, "slipstream.UserError", f"dynamic task of node [{node_id}] built a workflow "
                            f"that cannot run: {exc}")
            return
        child = f"{x}/{node_id}"
        plan_key, _ = self.blobs.put_content_addressed("plans", plan.to_dict())
        self.blobs.put_json(f"{child}/inputs.json", inputs)
        self.blobs.put_json(f"{child}/context.json", {"plan_key": plan_key})
        arns = self.machines.ensure(machines.definitions)
        self.machines.start(arns[machines.root], sfn_execution_name(child),
                            {"x": child, "q": self.settings.dispatch_queue_url, "parent_token": token,
                             "kind": "dynamic"})

    def _on_group(self, m: dict[str, Any]) -> None:
        x, group = m["x"], m["g"]
        self.machines.start(self.machines.arn(group), sfn_execution_name(f"{x}#{group}"),
                            {"x": x, "q": self.settings.dispatch_queue_url, "parent_token": m["tok"],
                             "kind": "group"})

    # gates (chalicelib.gates)

    def _on_gate(self, m: dict[str, Any]) -> None:
        from chalicelib.gates import Gates

        Gates(self).on_gate(m)

    def _on_gate_failed(self, m: dict[str, Any]) -> None:
        from chalicelib.gates import Gates

        Gates(self).on_gate_failed(m)

    # tokens

    def succeed_token(self, token: str, output: dict[str, Any]) -> None:
        self.answers.succeed(token, output)

    def save_attempt_error(self, x: str, node_id: str, attempt: int, kind: str, message: str) -> None:
        """What the control plane saw when an attempt ended without reporting (a pod that never started, died
        or was refused): kept where the pod would have put its own error, so the node and the execution say
        why."""
        self.blobs.put_json(f"{attempt_prefix(x, node_id, attempt)}/error.json",
                            {"kind": kind, "message": message, "traceback": "", "ended": utcnow().isoformat()})

    def heartbeat_token(self, token: str) -> bool:
        """Keep a token alive while its pod waits to start (see `dispatch.reconciler`); False once it ended."""
        return self.answers.heartbeat(token)

    def fail_token(self, token: str, error: str, cause: str) -> None:
        self.answers.fail(token, error, cause)
