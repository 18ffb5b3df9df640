"""Registration: validate, compile and store tasks, workflows and launch plans as immutable versions.

A batch is checked whole before anything is written, so a bad batch leaves the store as it was:
shapes (JSON Schema), projects and domains, taken versions (409 unless the content is identical),
then compilation of every workflow against its tasks and subworkflows (from the batch or the store),
and every launch plan against its workflow. Each new workflow gets a default launch plan of its own name.

A batch becomes visible to readers all at once, or not at all — on DynamoDB as on moto:

1. Specs and closures go to S3 first, content-addressed (a blob nobody points at is harmless).
2. Every new version item, and its name item, is put with `batches = {B}`, B a fresh batch id; version puts
   stay conditional (a taken version is a 409 unless its content is identical). Readers skip items none of
   whose batches has committed, so nothing of the batch shows yet.
3. One conditional put of the marker `BATCH#B / COMMIT` commits the batch: from that write on, every
   item of B is visible. Readers use strongly consistent reads, so a read that sees the marker sees the
   items written before it.

Why a marker rather than TransactWriteItems: a transaction holds at most 100 items and a batch may hold
a thousand specs (two items each), and a marker keeps one path for every size. Its cost is one extra
read per batch a reader meets, remembered once committed (a commit is never undone).

A version another batch stored with the same content but has not committed (in flight, or interrupted
when its Lambda died) is joined: B is added to its batches, so it shows when either batch commits and
every batch still appears whole. Re-running an interrupted registration therefore completes it. A
version an interrupted batch stored with other content stays taken (409), as any stored version does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib.compiler import check_launch_plan, compile_workflow
from chalicelib.compiler.asl import check_task_timeout
from chalicelib.compiler.graph import topological_order
from chalicelib.errors import ConflictError, NotFoundError, UnknownReferenceError, ValidationError
from chalicelib.spec import Identifier, check_spec_shape, content_hash, ref_key, referenced_entities
from chalicelib.spec.quantities import check_resources
from chalicelib.store import BlobStore, EntityRecord, MetadataStore

KINDS = ("task", "workflow", "launch_plan")
WRITERS = 16
MAX_BATCH = 1000


@dataclass
class _Batch:
    specs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (kind, ref key) → spec
    existing: dict[tuple[str, str], EntityRecord] = field(default_factory=dict)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {key: spec for (k, key), spec in self.specs.items() if k == kind}


def default_launch_plan(workflow: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "launch_plan", "schema_version": 1, "id": dict(workflow["id"]), "workflow": dict(workflow["id"]),
            "default_inputs": {}, "fixed_inputs": {}, "schedule": None, "notifications": []}


class RegistrationService:
    def __init__(self, metadata: MetadataStore, blobs: BlobStore, max_task_timeout_seconds: int | None = None) -> None:
        """`max_task_timeout_seconds`: the longest task timeout the deployment's state machines can bound
        (`AslOptions.max_task_timeout_seconds`); None accepts any."""
        self.metadata = metadata
        self.blobs = blobs
        self.max_task_timeout_seconds = max_task_timeout_seconds
        # activates a launch plan version (chalicelib.schedules), for specs with `auto_activate`; None: ignored
        self.activate: Any = None

    def register(self, specs: list[Any]) -> list[dict[str, Any]]:
        """Register a batch; returns one {"kind", "id", "status": "created" | "unchanged"} per entity."""
        if not isinstance(specs, list) or not specs:
            raise ValidationError('the body must hold a non-empty list of specs: {"specs": [...]}')
        if len(specs) > MAX_BATCH:
            raise ValidationError(f"a batch holds at most {MAX_BATCH} specs, got {len(specs)}; split it")
        batch = _Batch()
        for spec in specs:
            check_spec_shape(spec)
            if spec["kind"] == "task":  # what the API server would refuse when the task's pod is created
                container = spec["container"]
                check_resources(f"task [{ref_key(spec['id'])}]", container["requests"], container["limits"])
            key = (spec["kind"], ref_key(spec["id"]))
            if key in batch.specs and batch.specs[key] != spec:
                raise ConflictError(f"{spec['kind']} [{key[1]}] appears twice in the batch with different content")
            batch.specs[key] = spec
            if spec["kind"] == "task" and self.max_task_timeout_seconds is not None:
                check_task_timeout(spec, self.max_task_timeout_seconds)
        self._check_projects(batch)
        for workflow in batch.of_kind("workflow").values():
            plan = default_launch_plan(workflow)
            batch.specs.setdefault(("launch_plan", ref_key(plan["id"])), plan)
        self._load_existing(batch)
        compiled = self._compile(batch)
        return self._write(batch, compiled)

    def _check_projects(self, batch: _Batch) -> None:
        for project in sorted({spec["id"]["project"] for spec in batch.specs.values()}):
            domains = self.metadata.get_project(project)["domains"]
            for spec in batch.specs.values():
                if spec["id"]["project"] == project and spec["id"]["domain"] not in domains:
                    raise ValidationError(f"domain [{spec['id']['domain']}] is not a domain of project [{project}]; "
                                          f"use one of {domains}")

    def _load_existing(self, batch: _Batch) -> None:
        keys = [(kind, Identifier.from_dict(spec["id"])) for (kind, _), spec in batch.specs.items()]
        found = self.metadata.get_entities(keys)
        for (kind, ident), record in found.items():
            key = (kind, str(ident))
            if record.digest != content_hash(batch.specs[key]):
                pending = "" if record.visible else \
                    " (by a registration that has not completed: in flight, or interrupted)"
                raise ConflictError(
                    f"{kind} [{ident}] is already registered with different content; versions are immutable: "
                    f"register under a new version (--version){pending}"
                )
            batch.existing[key] = record

    def _stored_spec(self, kind: str, ref: dict[str, str]) -> dict[str, Any] | None:
        record = self.metadata.get_entity(kind, Identifier.from_dict(ref))
        return None if record is None else self.blobs.get_immutable_json(record.spec_key)

    def _closure_specs(
        self, batch: _Batch, key: str, workflow: dict[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Tasks and workflows `workflow` reaches, from the batch or the store; missing ones are left for
        the compiler to name."""
        tasks: dict[str, dict[str, Any]] = {}
        workflows: dict[str, dict[str, Any]] = {key: workflow}
        pending = list(referenced_entities(workflow))
        while pending:
            kind, ref = pending.pop()
            pool = tasks if kind == "task" else workflows
            if ref_key(ref) in pool:
                continue
            spec = batch.specs.get((kind, ref_key(ref))) or self._stored_spec(kind, ref)
            if spec is not None:
                pool[ref_key(ref)] = spec
                if kind == "workflow":
                    pending.extend(referenced_entities(spec))
        return tasks, workflows

    def _compile(self, batch: _Batch) -> dict[str, Any]:
        """Compile every workflow of the batch (closures by key) and check every launch plan."""
        closures: dict[str, Any] = {}
        for key in _workflow_order(batch.of_kind("workflow")):
            workflow = batch.specs[("workflow", key)]
            tasks, workflows = self._closure_specs(batch, key, workflow)
            closures[key] = compile_workflow(workflow, tasks, workflows).closure()
        for plan in batch.of_kind("launch_plan").values():
            target = ref_key(plan["workflow"])
            workflow = batch.specs.get(("workflow", target)) or self._stored_spec("workflow", plan["workflow"])
            if workflow is None:
                raise UnknownReferenceError(
                    f"launch plan [{ref_key(plan['id'])}] names workflow [{target}], which is neither registered "
                    "nor in this batch; register the workflow first"
                )
            check_launch_plan(plan, workflow)
        return closures

    def _write(self, batch: _Batch, closures: dict[str, Any]) -> list[dict[str, Any]]:
        """Store every entity not yet visible as part of one new batch, then commit it (see the module
        docstring). The entities were all validated, so the writes are independent and run in parallel
        (a batch of hundreds costs a few round trips of wall time, not hundreds)."""
        order = {kind: i for i, kind in enumerate(KINDS)}
        ordered = sorted(batch.specs.items(), key=lambda item: order[item[0][0]])
        batch_id = uuid.uuid4().hex

        def write(item: tuple[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
            (kind, key), spec = item
            status = self._write_one(kind, spec, batch.existing.get((kind, key)), closures.get(key), batch_id)
            return {"kind": kind, "id": spec["id"], "status": status}

        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            results = list(pool.map(write, ordered))
        created = sum(r["status"] == "created" for r in results)
        if created:
            self.metadata.commit_batch(batch_id, created)
        if self.activate is not None:  # once visible; a re-registration (unchanged) leaves activation alone
            for result in results:
                if result["kind"] == "launch_plan" and result["status"] == "created" and \
                        batch.specs[("launch_plan", ref_key(result["id"]))].get("auto_activate"):
                    self.activate(Identifier.from_dict(result["id"]))
        return results

    def _write_one(self, kind: str, spec: dict[str, Any], existing: EntityRecord | None, closure: Any,
                   batch_id: str) -> str:
        """"created" if this batch makes the entity visible, "unchanged" if it was visible already."""
        if existing is not None and existing.visible:
            return "unchanged"
        ident = Identifier.from_dict(spec["id"])
        digest = content_hash(spec)
        if existing is None:
            spec_key, digest = self.blobs.put_content_addressed("specs", spec)
            closure_key = self.blobs.put_content_addressed("closures", closure)[0] if kind == "workflow" else None
            if self.metadata.put_entity(kind, ident, digest, spec_key, closure_key, batch=batch_id):
                return "created"
            existing = self.metadata.get_entity(kind, ident, include_pending=True)  # stored since we looked
            if existing is not None and existing.digest == digest and existing.visible:
                return "unchanged"
        if existing is None or existing.digest != digest or \
                not self.metadata.join_batch(kind, ident, digest, batch_id):
            raise ConflictError(f"{kind} [{ident}] was registered concurrently with different content; "
                                "register under a new version")
        return "created"

    # reads

    def get(self, kind: str, ident: Identifier) -> dict[str, Any]:
        record = self.metadata.get_entity(kind, ident)
        if record is None:
            raise NotFoundError(f"{kind.replace('_', ' ')} [{ident}] is not registered")
        body: dict[str, Any] = {**record.summary(), "spec": self.blobs.get_immutable_json(record.spec_key)}
        if record.closure_key:
            body["closure_key"] = record.closure_key
        return body

    def closure(self, ident: Identifier) -> dict[str, Any]:
        record = self.metadata.get_entity("workflow", ident)
        if record is None or record.closure_key is None:
            raise NotFoundError(f"workflow [{ident}] is not registered")
        return self.blobs.get_immutable_json(record.closure_key)


def _workflow_order(workflows: dict[str, dict[str, Any]]) -> Iterable[str]:
    """Subworkflows of the batch before the workflows that call them."""
    deps = {key: {ref_key(ref) for kind, ref in referenced_entities(spec) if kind == "workflow"} & set(workflows)
            for key, spec in workflows.items()}
    return topological_order("batch", deps)
