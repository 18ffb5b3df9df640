"""Find every entity under some paths and turn them into specs for one (project, domain, version)."""

from __future__ import annotations

from typing import Any

from slipstream.loader import entities_in, load_file, python_files
from slipstream.serialization import SerializationSettings, serialize
from slipstream.versioning import default_version


def collect_entities(paths: list[str]) -> list[Any]:
    found: list[Any] = []
    for file in python_files(paths):
        for entity in entities_in(load_file(file)):
            if not any(entity is e for e in found):
                found.append(entity)
    return found


def collect_specs(paths: list[str], *, project: str, domain: str, version: str | None) -> list[dict[str, Any]]:
    settings = SerializationSettings(project, domain, version or default_version(paths))
    return serialize(collect_entities(paths), settings)
