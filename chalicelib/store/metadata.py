"""Projects and registered entities in DynamoDB. The only code besides `executions` that touches the
tables; every write is conditional."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.spec.identifiers import DEFAULT_DOMAINS, Identifier
from chalicelib.store.models import PROJECTS_PARTITION, Models
from chalicelib.store.pagination import decode_token, encode_token


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _conditional_failed(exc: PutError) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class EntityRecord:
    kind: str
    id: Identifier
    digest: str
    spec_key: str
    closure_key: str | None
    registered_at: dt.datetime

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id.to_dict(), "digest": self.digest,
                "registered_at": self.registered_at.isoformat()}


def _entity_pk(kind: str, ident: Identifier) -> str:
    return f"{kind}#{ident.project}#{ident.domain}#{ident.name}"


def _names_pk(kind: str, project: str, domain: str) -> str:
    return f"NAMES#{kind}#{project}#{domain}"


class MetadataStore:
    def __init__(self, models: Models) -> None:
        self.models = models

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

    # entities

    def _record(self, item: Any) -> EntityRecord:
        ident = Identifier(item.project, item.domain, item.name, item.sk[2:])
        return EntityRecord(item.kind, ident, item.digest, item.spec_key, item.closure_key, item.registered_at)

    def get_entity(self, kind: str, ident: Identifier) -> EntityRecord | None:
        try:
            return self._record(self.models.Entity.get(_entity_pk(kind, ident), f"V#{ident.version}"))
        except self.models.Entity.DoesNotExist:
            return None

    def get_entities(self, keys: list[tuple[str, Identifier]]) -> dict[tuple[str, Identifier], EntityRecord]:
        """Many entities in few requests (BatchGetItem)."""
        wanted = {(_entity_pk(k, i), f"V#{i.version}") for k, i in keys}
        found = {}
        for item in self.models.Entity.batch_get(list(wanted)):
            record = self._record(item)
            found[(record.kind, record.id)] = record
        return found

    def put_entity(self, kind: str, ident: Identifier, digest: str, spec_key: str,
                   closure_key: str | None = None) -> bool:
        """Store a new version; False if this identifier is taken already (by any content)."""
        now = utcnow()
        item = self.models.Entity(
            pk=_entity_pk(kind, ident), sk=f"V#{ident.version}", created=f"{now.isoformat()}#{ident.version}",
            kind=kind, project=ident.project, domain=ident.domain, name=ident.name, digest=digest,
            spec_key=spec_key, closure_key=closure_key, registered_at=now,
        )
        try:
            item.save(condition=self.models.Entity.pk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        names = self.models.Entity(
            pk=_names_pk(kind, ident.project, ident.domain), sk=f"N#{ident.name}", kind=kind,
            project=ident.project, domain=ident.domain, name=ident.name, version=ident.version, registered_at=now,
        )
        Entity = self.models.Entity
        try:  # parallel writes of one batch: the newest registration wins, whatever order they land in
            names.save(condition=Entity.pk.does_not_exist() | (Entity.registered_at < now))
        except PutError as exc:
            if not _conditional_failed(exc):
                raise
        return True

    def list_names(self, kind: str, project: str, domain: str, limit: int,
                   token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        Entity = self.models.Entity
        pk = _names_pk(kind, project, domain)
        results = Entity.query(pk, Entity.sk.startswith("N#"), limit=limit, page_size=limit,
                               last_evaluated_key=decode_token(token, pk, {"pk", "sk"}))
        items = [{"name": i.name, "latest_version": i.version, "updated_at": i.registered_at.isoformat()}
                 for i in results]
        return items, encode_token(results.last_evaluated_key if len(items) == limit else None)

    def list_versions(self, kind: str, project: str, domain: str, name: str, limit: int,
                      token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        pk = f"{kind}#{project}#{domain}#{name}"
        start = decode_token(token, pk, {"pk", "sk", "created"})
        results = self.models.Entity.by_created.query(pk, scan_index_forward=False, limit=limit,
                                                      page_size=limit, last_evaluated_key=start)
        items = [self._record(i).summary() for i in results]
        return items, encode_token(results.last_evaluated_key if len(items) == limit else None)


def _project_dict(item: Any) -> dict[str, Any]:
    return {"name": item.name, "description": item.description, "domains": list(item.domains),
            "created_at": item.created_at.isoformat()}
