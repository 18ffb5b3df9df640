"""Executions: create (from a launch plan or a workflow, inputs checked, idempotent by name), get, list,
node executions, logs, terminate and relaunch.

Creating one resolves its inputs against the interface and the launch plan, flattens the registered
closure into a plan, compiles it to state machines (shared by content hash) and starts the root
execution with `{"x": <execution key>, "q": <dispatch queue>}` as input.

Reading one can wait for its next change (a long poll, `Watch`): the answer carries a change token, a digest
of what the execution's and its nodes' views show, and a request that hands the token back (`since`) is
answered as soon as the token differs, or after `wait_seconds` with the same token. No phase writer has to
bump a version for this, and a change nobody can see (a slot taken, a wait token stored) wakes no one. On
Lambda the handler re-reads DynamoDB with backoff (a consistent GetItem and Query each time, from 50 ms up to
every 250 ms), bounded well under API Gateway's 29 s limit. A change reaches the client within a re-read
instead of half a polling interval plus a round trip, with one request per change. The wait is billed as
Lambda duration: at 1,024 MB a watching client costs about $1.7e-5 a second, some 1.8 times what polling
through API Gateway every 0.5 s would (it is only spent while someone follows an execution).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.compiler import CompiledWorkflow, resolve_inputs
from chalicelib.compiler.asl import AslOptions, compile_asl
from chalicelib.compiler.plan import build_plan
from chalicelib.config import Settings
from chalicelib.data import attempt_prefix, execution_key
from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.machines import StateMachines, sfn_execution_name
from chalicelib.registration import RegistrationService
from chalicelib.spec import Identifier, check_name, content_hash
from chalicelib.store import BlobStore, MetadataStore
from chalicelib.store.executions import NODE_RANK, TERMINAL, ExecutionStore, execution_view, node_view, utcnow

EXECUTION_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
MAX_WAIT_SECONDS = 20  # API Gateway ends a request at 29 s; the last read and the answer need some of the rest
FIRST_RECHECK_SECONDS = 0.05
MAX_RECHECK_SECONDS = 0.25  # the latency of noticing a change once the wait has gone on a while
CHANGE_TOKEN = re.compile(r"[0-9a-f]{20}")
_WAIT_SECONDS = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class Watch:
    """How a read of an execution waits: `since` a change token, up to `wait_seconds`; with `nodes` the answer
    carries the node list too (one request per change for a live view)."""

    wait_seconds: int = 0
    since: str | None = None
    nodes: bool = False

    @classmethod
    def from_query(cls, wait_seconds: str | None, since: str | None, nodes: str | None) -> Watch | None:
        """The watch the query parameters ask for, None for a plain read; a bad value is a ValidationError."""
        if wait_seconds is None and since is None and nodes is None:
            return None
        if wait_seconds is not None and not (_WAIT_SECONDS.fullmatch(wait_seconds)
                                             and int(wait_seconds) <= MAX_WAIT_SECONDS):
            raise ValidationError(f"wait_seconds [{wait_seconds[:40]}] must be a whole number from 0 to "
                                  f"{MAX_WAIT_SECONDS}")
        if since is not None and not CHANGE_TOKEN.fullmatch(since):
            raise ValidationError(f"since [{since[:40]}] is not a change token; pass the change_token of an "
                                  "earlier answer, or leave since out to read at once")
        if nodes not in (None, "true", "false"):
            raise ValidationError(f"nodes [{str(nodes)[:40]}] must be true or false")
        return cls(int(wait_seconds or 0), since, nodes == "true")


def asl_options(settings: Settings) -> AslOptions:
    """The compiler's options from a deployment's settings (validated there: a bad prefix or clock is a
    ValidationError naming the setting)."""
    return AslOptions(heartbeat_seconds=settings.heartbeat_seconds,
                      timeout_slack_seconds=settings.timeout_slack_seconds,
                      max_pending_seconds=settings.max_pending_seconds,
                      max_execution_seconds=settings.max_execution_seconds,
                      gather_timeout_seconds=settings.gather_timeout_seconds,
                      distributed_map_threshold=settings.distributed_map_threshold,
                      max_nodes_per_machine=settings.max_nodes_per_machine,
                      name_prefix=settings.name_prefix)


class ExecutionService:
    def __init__(self, settings: Settings, store: ExecutionStore, metadata: MetadataStore, blobs: BlobStore,
                 registration: RegistrationService, machines: StateMachines, launcher: Any = None) -> None:
        self.settings = settings
        self.store = store
        self.metadata = metadata
        self.blobs = blobs
        self.registration = registration
        self.machines = machines
        self.launcher = launcher

    def create(self, body: Any) -> tuple[dict[str, Any], bool]:
        if not isinstance(body, dict):
            raise ValidationError('send {"project", "domain", "launch_plan" or "workflow": {"name", "version"}, '
                                  '"inputs": {...}, "name"?}')
        project, domain = check_name("project", body.get("project")), check_name("domain", body.get("domain"))
        domains = self.metadata.get_project(project)["domains"]
        if domain not in domains:
            raise ValidationError(f"domain [{domain}] is not a domain of project [{project}]; use one of {domains}")
        inputs = body.get("inputs", {})
        if not isinstance(inputs, dict):
            raise ValidationError("inputs must be a JSON object mapping input names to values")
        workflow, plan = self._target(project, domain, body)
        fixed = plan["fixed_inputs"] if plan else {}
        defaults = plan["default_inputs"] if plan else {}
        resolved = resolve_inputs(workflow["interface"]["inputs"], inputs, defaults=defaults, fixed=fixed,
                                  owner=f"execution of workflow [{workflow['id']['name']}]")
        name = body.get("name") or _generated_name()
        if not isinstance(name, str) or not EXECUTION_NAME.fullmatch(name):
            raise ValidationError(f"execution name [{name}] is not valid: use lowercase letters, digits and '-', "
                                  "starting with a letter, at most 40 characters")
        return self._start(project, domain, name, workflow, plan, resolved)

    def _target(self, project: str, domain: str, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """(workflow spec, launch plan spec or None) named by the request; latest version if none given."""
        kind = "launch_plan" if "launch_plan" in body else "workflow" if "workflow" in body else None
        if kind is None:
            raise ValidationError('name what to run: "launch_plan": {"name": ...} or "workflow": {"name": ...}')
        ref = body[kind]
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            raise ValidationError(f'{kind} must be an object {{"name": ..., "version": ...}}')
        version = ref.get("version") or self._latest(kind, project, domain, ref["name"])
        spec = self.registration.get(kind, Identifier(project, domain, ref["name"], version))["spec"]
        if kind == "workflow":
            return spec, None
        target = Identifier.from_dict(spec["workflow"])
        return self.registration.get("workflow", target)["spec"], spec

    def _latest(self, kind: str, project: str, domain: str, name: str) -> str:
        items, _ = self.metadata.list_versions(kind, project, domain, check_name("name", name), 1, None)
        if not items:
            raise NotFoundError(f"{kind.replace('_', ' ')} [{project}/{domain}/{name}] is not registered")
        return items[0]["id"]["version"]

    def _start(self, project: str, domain: str, name: str, workflow: dict[str, Any], launch_plan: Any,
               inputs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        digest = content_hash({"workflow": workflow["id"], "launch_plan": launch_plan and launch_plan["id"],
                               "inputs": inputs})
        # compiled before the record exists, so a workflow that cannot run leaves no execution behind
        compiled = CompiledWorkflow.from_closure(self.registration.closure(Identifier.from_dict(workflow["id"])))
        try:
            plan = build_plan(compiled)
        except NotImplementedError as exc:
            raise ValidationError(f"workflow [{workflow['id']['name']}] uses {exc}, which remote runs do not "
                                  "support yet; call a task there instead") from None
        machines = compile_asl(plan, asl_options(self.settings))
        record, created = self.store.create(project, domain, name, workflow=workflow["id"],
                                            launch_plan=launch_plan and launch_plan["id"], request_digest=digest)
        if not created:
            if record.request_digest != digest:
                raise ConflictError(f"execution [{project}/{domain}/{name}] exists with other inputs or another "
                                    "workflow; choose another name")
            if record.sfn_execution_arn:
                return self._view(record), False
        x = execution_key(project, domain, name)
        plan_key, _ = self.blobs.put_content_addressed("plans", plan.to_dict())
        inputs_key = self.blobs.put_json(f"{x}/inputs.json", inputs)
        context = {"plan_key": plan_key}
        if launch_plan and launch_plan.get("max_parallelism"):
            context["max_parallelism"] = launch_plan["max_parallelism"]
        self.blobs.put_json(f"{x}/context.json", context)
        arns = self.machines.ensure(machines.definitions)
        arn = self.machines.start(arns[machines.root], sfn_execution_name(x),
                                  {"x": x, "q": self.settings.dispatch_queue_url})
        self.store.set_phase(record, "RUNNING", sfn_execution_arn=arn, state_machine_arn=arns[machines.root],
                             plan_key=plan_key, inputs_key=inputs_key, started_at=utcnow())
        return self._view(self.store.get(project, domain, name)), created

    def _view(self, record: Any, detail: bool = True) -> dict[str, Any]:
        view = execution_view(record)
        if detail:
            view["inputs"] = self.blobs.get_immutable_json(record.inputs_key) if record.inputs_key else None
            outputs = record.outputs
            if outputs is None and record.outputs_key:
                outputs = self.blobs.get_immutable_json(record.outputs_key)
            view["outputs"] = outputs
        return view

    def get(self, project: str, domain: str, name: str, watch: Watch | None = None) -> dict[str, Any]:
        """The execution's view; with a watch, also its change token (and nodes), once the token differs from
        `watch.since` or `watch.wait_seconds` have passed."""
        if watch is None:
            return self._view(self.store.get(project, domain, name))
        x = execution_key(project, domain, name)
        deadline = time.monotonic() + watch.wait_seconds
        delay = FIRST_RECHECK_SECONDS
        while True:
            record = self.store.get(project, domain, name)
            nodes = self._nodes(x, "")
            token = change_token(record, nodes)
            remaining = deadline - time.monotonic()
            if token != watch.since or remaining <= 0:
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_RECHECK_SECONDS)
        view = self._view(record)
        view["change_token"] = token
        if watch.nodes:
            view["nodes"] = nodes
        return view

    def list(self, project: str, domain: str, *, phase: str | None, workflow: str | None, limit: int,
             token: str | None) -> dict[str, Any]:
        if phase and phase not in ("QUEUED", "RUNNING", *TERMINAL):
            raise ValidationError(f"phase [{phase}] is unknown; use one of QUEUED, RUNNING, {', '.join(TERMINAL)}")
        items, next_token = self.store.list(project, domain, phase=phase, workflow=workflow, limit=limit, token=token)
        return {"executions": [self._view(r, detail=False) for r in items], "token": next_token}

    def nodes(self, project: str, domain: str, name: str) -> list[dict[str, Any]]:
        self.store.get(project, domain, name)
        return self._nodes(execution_key(project, domain, name), "")

    def _nodes(self, x: str, prefix: str) -> list[dict[str, Any]]:
        found = []
        for record in self.store.nodes(x):
            view = node_view(record)
            view["node_id"] = prefix + view["node_id"]
            found.append(view)
            if (record.task or {}).get("task_type") == "dynamic":
                found.extend(self._nodes(f"{x}/{record.sk}", f"{view['node_id']}/"))
        return sorted(found, key=lambda v: (v["started_at"] or "~", v["node_id"]))

    def logs(self, project: str, domain: str, name: str, node: str) -> str:
        self.store.get(project, domain, name)
        x = execution_key(project, domain, name)
        *parents, leaf = node.split("/")
        scope = "/".join([x, *parents])
        record = self.store.node(scope, leaf)
        if record is None:
            raise NotFoundError(f"node [{node}] of execution [{x}] has not run")
        attempt = max(int(record.attempts or 1) - 1, 0)
        try:
            return self.blobs.get_text(f"{attempt_prefix(scope, leaf, attempt)}/logs.txt")
        except NotFoundError:
            raise NotFoundError(f"node [{node}] of execution [{x}] has no logs yet (attempt {attempt})") from None

    def terminate(self, project: str, domain: str, name: str) -> dict[str, Any]:
        record = self.store.get(project, domain, name)
        if record.phase in TERMINAL:
            raise ConflictError(f"execution [{project}/{domain}/{name}] already ended ({record.phase})")
        if record.sfn_execution_arn:
            with contextlib.suppress(self.machines.sfn.exceptions.ExecutionDoesNotExist):
                self.machines.sfn.stop_execution(executionArn=record.sfn_execution_arn, error="slipstream.Aborted",
                                                 cause="terminated by user")
        if self.launcher is not None:
            self.launcher.stop_execution(project, domain, name)
        self.store.set_phase(record, "ABORTED", ended_at=utcnow(),
                             error={"code": "Aborted", "message": "terminated by user"})
        self._abort_nodes(execution_key(project, domain, name))
        return self.get(project, domain, name)

    def _abort_nodes(self, x: str) -> None:
        """Every node still open ends ABORTED, with those of the graphs its dynamic tasks built: the status
        event that follows finds the execution ended already and closes nothing."""
        now = utcnow()
        for node in self.store.nodes(x):
            if node.phase_rank is None or node.phase_rank < NODE_RANK["SUCCEEDED"]:
                self.store.update_node(x, node.sk, "ABORTED", ended_at=now)
            if (node.task or {}).get("task_type") == "dynamic":
                self._abort_nodes(f"{x}/{node.sk}")

    def relaunch(self, project: str, domain: str, name: str, new_name: str | None = None) -> dict[str, Any]:
        record = self.store.get(project, domain, name)
        if not record.inputs_key:
            raise ConflictError(f"execution [{project}/{domain}/{name}] never started; nothing to relaunch")
        inputs = self.blobs.get_immutable_json(record.inputs_key)
        workflow = self.registration.get("workflow", Identifier.from_dict(record.workflow))["spec"]
        plan = None
        if record.launch_plan:
            plan = self.registration.get("launch_plan", Identifier.from_dict(record.launch_plan))["spec"]
        name = new_name or _generated_name()
        if not EXECUTION_NAME.fullmatch(name):
            raise ValidationError(f"execution name [{name}] is not valid")
        view, _ = self._start(project, domain, name, workflow, plan, inputs)
        return view


def change_token(record: Any, nodes: list[dict[str, Any]]) -> str:
    """A digest of what a reader sees of an execution: its view, whether its outputs exist, its nodes' views."""
    seen = {"execution": execution_view(record), "outputs": bool(record.outputs_key) or record.outputs is not None,
            "nodes": nodes}
    return content_hash(seen)[:20]


def _generated_name() -> str:
    return "x" + secrets.token_hex(10)
