"""Raw HTTP to the sandbox's API, for tests that look at status codes and error bodies as they are."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

DOMAIN = "development"


def send(base_url: str, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    """(status, decoded JSON body or the raw bytes if the body is not JSON)."""
    request = urllib.request.Request(base_url + path, data=body, method=method,
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload


def call(api: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """`send` with a JSON-encoded body."""
    return send(api.config.api_url, method, path, None if body is None else json.dumps(body).encode())


def error_of(status_and_payload: tuple[int, Any], status: int) -> dict[str, str]:
    """The `{"code", "message"}` of an error answer, after checking its status and shape."""
    got, payload = status_and_payload
    assert got == status, payload
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    assert set(payload["error"]) == {"code", "message"} and payload["error"]["message"], payload
    return payload["error"]


def entity_path(kind: str, project: str, name: str, version: str, domain: str = DOMAIN) -> str:
    return f"/api/v1/{kind}s/{project}/{domain}/{name}/{version}"


def register_path(project: str, domain: str = DOMAIN) -> str:
    """The mixed-batch registration route of one project-domain."""
    return f"/api/v1/projects/{project}/domains/{domain}/register"


def kind_path(kind: str, project: str, domain: str = DOMAIN) -> str:
    """The registration route of one kind ("task", "workflow", "launch_plan") in one project-domain."""
    return f"/api/v1/{kind}s/{project}/{domain}"


def upload_path(project: str, domain: str = DOMAIN) -> str:
    return f"/api/v1/dataproxy/{project}/{domain}/upload_location"


def executions_path(project: str, domain: str = DOMAIN) -> str:
    """Create (POST) and list (GET) executions of one project-domain."""
    return f"/api/v1/executions/{project}/{domain}"
