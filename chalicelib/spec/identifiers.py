"""Identifiers: (project, domain, name, version) names a task, workflow or launch plan forever.

Every part ends up in an S3 key, a DynamoDB key, a Kubernetes namespace (`<project>-<domain>`) or an ARN,
so each is checked against a strict pattern here, before anything is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ValidationError

# A Kubernetes namespace is a DNS label of at most 63 characters: `<project>-<domain>` must fit.
# `$(?!\n)`: the JSON Schema carries the same patterns, and Python's `$` alone also matches before a final newline.
PROJECT_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$(?!\n)")
DOMAIN_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$(?!\n)")
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,199}$(?!\n)")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$(?!\n)")
NODE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$(?!\n)")
DEFAULT_DOMAINS = ("development", "staging", "production")

_RULES = {
    "project": (PROJECT_PATTERN, "lowercase letters, digits and '-', at most 40 characters"),
    "domain": (DOMAIN_PATTERN, "lowercase letters, digits and '-', at most 20 characters"),
    "name": (NAME_PATTERN, "letters, digits, '_', '.' and '-', starting with a letter or '_', at most 200 characters"),
    "version": (VERSION_PATTERN, "letters, digits, '_', '.' and '-', at most 128 characters"),
    "node id": (NODE_ID_PATTERN, "lowercase letters, digits and '-', starting with a letter"),
}


def check_name(kind: str, value: Any) -> str:
    """Return `value` if it is a valid `kind` ("project", "domain", "name", "version", "node id")."""
    pattern, rule = _RULES[kind]
    if not isinstance(value, str) or not pattern.fullmatch(value):  # `$` would let a trailing "\n" in
        raise ValidationError(f"{kind} [{value}] is not valid: use {rule}")
    return value


@dataclass(frozen=True, order=True)
class Identifier:
    project: str
    domain: str
    name: str
    version: str

    def __post_init__(self) -> None:
        for kind in ("project", "domain", "name", "version"):
            check_name(kind, getattr(self, kind))

    def to_dict(self) -> dict[str, str]:
        return {"project": self.project, "domain": self.domain, "name": self.name, "version": self.version}

    @classmethod
    def from_dict(cls, data: Any) -> Identifier:
        if not isinstance(data, dict):
            raise ValidationError(f"identifier [{data}] must be an object with project, domain, name and version")
        missing = [k for k in ("project", "domain", "name", "version") if k not in data]
        if missing:
            raise ValidationError(f"identifier [{data}] lacks {', '.join(missing)}")
        return cls(data["project"], data["domain"], data["name"], data["version"])

    def __str__(self) -> str:
        return f"{self.project}/{self.domain}/{self.name}@{self.version}"
