"""Projects and registered entities in DynamoDB. The only code besides `executions` that touches the
tables; every write is conditional.

Entities are written by registration batches and become visible together, when their batch commits (see
chalicelib.registration for the protocol). Reads here return visible entities only, with strongly
consistent reads: an item written before its batch's commit marker is then seen by every read that sees
the marker. `include_pending` reads are for registration's own checks of taken versions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.spec.identifiers import DEFAULT_DOMAINS, Identifier
from chalicelib.store.models import BATCH_COMMIT, PROJECTS_PARTITION, Models
from chalicelib.store.pagination import decode_token, encode_token


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


COMMITTED_CACHE = 10_000  # batch ids remembered as committed (a commit is never undone)


def _conditional_failed(exc: PutError | UpdateError) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class EntityRecord:
    kind: str
    id: Identifier
    digest: str
    spec_key: str
    closure_key: str | None
    registered_at: dt.datetime
    visible: bool = True  # False: stored by batches none of which has committed (yet, or ever: interrupted)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id.to_dict(), "digest": self.digest,
                "registered_at": self.registered_at.isoformat()}


def _entity_pk(kind: str, ident: Identifier) -> str:
    return f"{kind}#{ident.project}#{ident.domain}#{ident.name}"


def _names_pk(kind: str, project: str, domain: str) -> str:
    return f"NAMES#{kind}#{project}#{domain}"


def _batch_pk(batch: str) -> str:
    return f"BATCH#{batch}"


class MetadataStore:
    def __init__(self, models: Models) -> None:
        self.models = models
        self._committed: set[str] = set()

    # projects

    def create_project(self, name: str, description: str = "") -> dict[str, Any]:
        item = self.models.Project(name=name, description=description, domains=list(DEFAULT_DOMAINS),
                                   created_at=utcnow())
        try:
            item.save(condition=self.models.Project.pk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                raise ConflictError(f"project [{name}] already exists") from exc
            raise
        return _project_dict(item)

    def get_project(self, name: str) -> dict[str, Any]:
        try:
            return _project_dict(self.models.Project.get(PROJECTS_PARTITION, name))
        except self.models.Project.DoesNotExist:
            raise NotFoundError(f"project [{name}] does not exist; create it with "
                                f"`slipstream create project {name}`") from None

    def list_projects(self) -> list[dict[str, Any]]:
        return [_project_dict(p) for p in self.models.Project.query(PROJECTS_PARTITION)]

    # registration batches

    def batch_committed(self, batch: str) -> bool:
        if batch in self._committed:
            return True
        try:
            self.models.RegistrationBatch.get(_batch_pk(batch), BATCH_COMMIT, consistent_read=True)
        except self.models.RegistrationBatch.DoesNotExist:
            return False
        if len(self._committed) >= COMMITTED_CACHE:
            self._committed.clear()
        self._committed.add(batch)
        return True

    def commit_batch(self, batch: str, entities: int) -> None:
        """Make every item `batch` wrote visible, at once: one conditional put of its commit marker."""
        Batch = self.models.RegistrationBatch
        Batch(pk=_batch_pk(batch), entities=entities, committed_at=utcnow()).save(
            condition=Batch.pk.does_not_exist())
        self._committed.add(batch)

    def _visible(self, item: Any) -> bool:
        return not item.batches or any(self.batch_committed(b) for b in sorted(item.batches))

    # entities

    def _record(self, item: Any, visible: bool | None = None) -> EntityRecord:
        ident = Identifier(item.project, item.domain, item.name, item.sk[2:])
        return EntityRecord(item.kind, ident, item.digest, item.spec_key, item.closure_key, item.registered_at,
                            self._visible(item) if visible is None else visible)

    def get_entity(self, kind: str, ident: Identifier, include_pending: bool = False) -> EntityRecord | None:
        try:
            item = self.models.Entity.get(_entity_pk(kind, ident), f"V#{ident.version}", consistent_read=True)
        except self.models.Entity.DoesNotExist:
            return None
        record = self._record(item)
        return record if record.visible or include_pending else None

    def get_entities(self, keys: list[tuple[str, Identifier]]) -> dict[tuple[str, Identifier], EntityRecord]:
        """Many entities in few requests (BatchGetItem), pending ones included (see `EntityRecord.visible`)."""
        wanted = {(_entity_pk(k, i), f"V#{i.version}") for k, i in keys}
        found = {}
        for item in self.models.Entity.batch_get(list(wanted), consistent_read=True):
            record = self._record(item)
            found[(record.kind, record.id)] = record
        return found

    def put_entity(self, kind: str, ident: Identifier, digest: str, spec_key: str,
                   closure_key: str | None = None, *, batch: str) -> bool:
        """Store a new version as part of `batch` (invisible until it commits); False if this identifier
        is taken already (by any content, committed or not)."""
        now = utcnow()
        item = self.models.Entity(
            pk=_entity_pk(kind, ident), sk=f"V#{ident.version}", created=f"{now.isoformat()}#{ident.version}",
            kind=kind, project=ident.project, domain=ident.domain, name=ident.name, digest=digest,
            spec_key=spec_key, closure_key=closure_key, registered_at=now, batches={batch},
        )
        try:
            item.save(condition=self.models.Entity.pk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        self._put_name(kind, ident, batch, now)
        return True

    def join_batch(self, kind: str, ident: Identifier, digest: str, batch: str) -> bool:
        """Add `batch` to the batches of a stored version with this content, so that it becomes visible
        when `batch` commits too (another batch stored it and has not committed: it may be in flight, or
        interrupted). False if the version holds other content."""
        Entity = self.models.Entity
        try:
            Entity(_entity_pk(kind, ident), f"V#{ident.version}").update(
                actions=[Entity.batches.add({batch})], condition=Entity.digest == digest)
        except UpdateError as exc:
            if _conditional_failed(exc):
                return False
            raise
        self._put_name(kind, ident, batch, utcnow())
        return True

    def _put_name(self, kind: str, ident: Identifier, batch: str, now: dt.datetime) -> None:
        names = self.models.Entity(
            pk=_names_pk(kind, ident.project, ident.domain), sk=f"N#{ident.name}", kind=kind,
            project=ident.project, domain=ident.domain, name=ident.name, version=ident.version, registered_at=now,
            batches={batch},
        )
        Entity = self.models.Entity
        try:  # parallel writes of one batch: the newest registration wins, whatever order they land in
            names.save(condition=Entity.pk.does_not_exist() | (Entity.registered_at < now))
        except PutError as exc:
            if not _conditional_failed(exc):
                raise

    def list_names(self, kind: str, project: str, domain: str, limit: int,
                   token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Names with their newest visible version. A name whose newest registration has not committed
        shows the version before it, or not at all if it has none."""
        Entity = self.models.Entity
        pk = _names_pk(kind, project, domain)
        results = Entity.query(pk, Entity.sk.startswith("N#"), consistent_read=True, page_size=limit + 1,
                               last_evaluated_key=decode_token(token, pk, {"pk", "sk"}))
        items: list[dict[str, Any]] = []
        last: Any = None
        for item in results:
            if len(items) == limit:
                return items, encode_token({"pk": {"S": last.pk}, "sk": {"S": last.sk}})
            last = item
            if self._visible(item):
                items.append({"name": item.name, "latest_version": item.version,
                              "updated_at": item.registered_at.isoformat()})
                continue
            newest = next(self._visible_versions(f"{kind}#{project}#{domain}#{item.name}", None, 1), None)
            if newest is not None:
                items.append({"name": item.name, "latest_version": newest.sk[2:],
                              "updated_at": newest.registered_at.isoformat()})
        return items, None

    def list_versions(self, kind: str, project: str, domain: str, name: str, limit: int,
                      token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Visible versions, newest first; a page ends with a token only when more items follow."""
        pk = f"{kind}#{project}#{domain}#{name}"
        start = decode_token(token, pk, {"pk", "sk", "created"})
        items: list[dict[str, Any]] = []
        last: Any = None
        for item in self._visible_versions(pk, start, limit + 1):
            if len(items) == limit:
                return items, encode_token({"pk": {"S": last.pk}, "sk": {"S": last.sk},
                                            "created": {"S": last.created}})
            items.append(self._record(item, visible=True).summary())
            last = item
        return items, None

    def _visible_versions(self, pk: str, start: dict[str, Any] | None, page_size: int) -> Iterator[Any]:
        """Version items of one name, newest first, skipping those of uncommitted batches."""
        query = self.models.Entity.by_created.query(pk, scan_index_forward=False, consistent_read=True,
                                                    page_size=page_size, last_evaluated_key=start)
        return (item for item in query if self._visible(item))


def _project_dict(item: Any) -> dict[str, Any]:
    return {"name": item.name, "description": item.description, "domains": list(item.domains),
            "created_at": item.created_at.isoformat()}
