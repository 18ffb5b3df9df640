"""Manifests and pods checked against the Kubernetes API's own JSON Schema (kubernetes-validate), strict:
an unknown field is an error, as `kubectl apply --validate=strict` makes it.

The package ships the schemas of every Kubernetes version it knows, so this works offline (a test proves it
with sockets refused). Its `validate()` reads and parses the 1.2 MB definitions file on every call: ≈13 ms
for a task's pod here. The definitions and each kind's validator are built once and kept: ≈7 ms for the
first check, then ≈1 ms per pod and ≈0.2 ms per namespace or RBAC manifest.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.30"  # the oldest EKS standard-support version slipstream targets
_SCHEMAS = f"kubernetes-json-schema/v{KUBERNETES_VERSION}.0-local-strict"


class ManifestError(AssertionError):
    """A manifest the Kubernetes schema refuses; the message names the field path."""


def _read(name: str) -> Any:
    return json.loads(resources.files("kubernetes_validate").joinpath(f"{_SCHEMAS}/{name}").read_text())


@functools.cache
def _registry() -> Registry:
    return Resource.from_contents(_read("_definitions.json")) @ Registry()


@functools.cache
def validator(kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    """The strict validator of one kind (e.g. "Pod", "v1"; "ClusterRole", "rbac.authorization.k8s.io/v1")."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # rbac.authorization.k8s.io/v1 → rbac-v1
    schema = _read(f"{kind.lower()}-{group_version}.json")
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ _registry())


def to_manifest(obj: Any) -> dict[str, Any]:
    """A manifest dict from a plain dict or a model of the official client (V1Pod …), as it goes on the wire."""
    if isinstance(obj, dict):
        return obj
    from kubernetes import client as k8s

    return k8s.ApiClient().sanitize_for_serialization(obj)


def check_manifest(obj: Any) -> dict[str, Any]:
    """Raise ManifestError unless `obj` (a dict or a client model with apiVersion and kind) fits the Kubernetes
    schema of KUBERNETES_VERSION in strict mode; returns the manifest dict."""
    manifest = to_manifest(obj)
    if not manifest.get("apiVersion") or not manifest.get("kind"):
        raise ManifestError(f"a manifest needs apiVersion and kind, got {sorted(manifest)}")
    errors = sorted(validator(manifest["kind"], manifest["apiVersion"]).iter_errors(manifest),
                    key=lambda e: list(e.absolute_path))
    if errors:
        where = ".".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise ManifestError(f"{manifest['kind']} [{manifest.get('metadata', {}).get('name')}] does not fit the "
                            f"Kubernetes {KUBERNETES_VERSION} schema at [{where}]: {errors[0].message}")
    return manifest
