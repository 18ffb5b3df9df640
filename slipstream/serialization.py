"""From SDK objects to IR specs: identifiers for a (project, domain, version), closures, and order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.spec.identifiers import Identifier

LOCAL_PROJECT = "local"
LOCAL_DOMAIN = "development"
LOCAL_VERSION = "local"


@dataclass(frozen=True)
class SerializationSettings:
    project: str = LOCAL_PROJECT
    domain: str = LOCAL_DOMAIN
    version: str = LOCAL_VERSION

    def identifier(self, name: str) -> dict[str, str]:
        return Identifier(self.project, self.domain, name, self.version).to_dict()

    def key(self, name: str) -> str:
        return f"{self.project}/{self.domain}/{name}@{self.version}"


LOCAL = SerializationSettings()


class Entity(Protocol):
    kind: str
    name: str

    def dependencies(self) -> list[Any]: ...

    def to_spec(self, settings: SerializationSettings) -> dict[str, Any]: ...


def entity_name(fn: Any) -> str:
    """`module.function`, as flytekit names tasks; functions defined inside functions lose `<locals>`."""
    qualname = fn.__qualname__.replace(".<locals>", "")
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", f"{fn.__module__}.{qualname}")


def closure_entities(entity: Any) -> dict[str, Any]:
    """Every entity `entity` needs, itself included, keyed by `kind:name`, callees before callers."""
    found: dict[str, Any] = {}

    def visit(item: Any) -> None:
        key = f"{item.kind}:{item.name}"
        if key in found:
            return
        for dependency in item.dependencies():
            visit(dependency)
        found[key] = item

    visit(entity)
    return found


def serialize(entities: list[Any], settings: SerializationSettings) -> list[dict[str, Any]]:
    """Specs of `entities` and all they call, in registration order: tasks, workflows, launch plans."""
    ordered: dict[str, Any] = {}
    for entity in entities:
        for name, item in closure_entities(entity).items():
            ordered.setdefault(name, item)
    rank = {"task": 0, "workflow": 1, "launch_plan": 2}
    specs = [item.to_spec(settings) for item in ordered.values()]
    return sorted(specs, key=lambda s: rank[s["kind"]])
