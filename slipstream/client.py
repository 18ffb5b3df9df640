"""The control plane's HTTP client: JSON over urllib, SigV4-signed for AWS, errors mapped back to the
project's exceptions so the CLI prints the API's own message."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from chalicelib.errors import (
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    SlipstreamError,
    UserError,
    ValidationError,
)
from slipstream.config import ClientConfig

_ERRORS = {400: ValidationError, 404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError}
MAX_REQUEST_BYTES = 5 * 1024 * 1024


class ApiClient:
    def __init__(self, config: ClientConfig, timeout: float = 60.0) -> None:
        self.config = config
        self.timeout = timeout
        self.requests_sent = 0

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.config.api_url}{path}" + (f"?{query}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.auth == "sigv4":
            headers = self._sign(method, url, data, headers)
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        self.requests_sent += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise _error_from(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            raise UserError(f"cannot reach the control plane at [{self.config.api_url}] ({exc}); "
                            "is the sandbox running? `slipstream sandbox start`") from None
        return json.loads(payload) if payload else None

    def _sign(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        import botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise UserError("no AWS credentials found to sign requests; configure them as for the AWS CLI")
        region = self.config.region or session.get_config_variable("region") or "us-east-1"
        aws_request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(aws_request)
        return dict(aws_request.headers.items())

    # projects

    def create_project(self, name: str, description: str = "") -> dict[str, Any]:
        return self.request("POST", "/api/v1/projects", {"name": name, "description": description})

    def list_projects(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/projects")["projects"]

    def get_project(self, name: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/projects/{_quote(name)}")

    # registration

    def register(self, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Register in as few requests as the body limit allows, keeping dependency order."""
        results: list[dict[str, Any]] = []
        for chunk in _chunks(specs, MAX_REQUEST_BYTES):
            results.extend(self.request("POST", "/api/v1/register", {"specs": chunk})["entities"])
        return results

    def list_names(self, kind: str, project: str, domain: str, limit: int | None = None,
                   token: str | None = None) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/{kind}_ids/{_quote(project)}/{_quote(domain)}",
                            params={"limit": limit, "token": token})

    def list_versions(self, kind: str, project: str, domain: str, name: str, limit: int | None = None,
                      token: str | None = None) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/{kind}s/{_quote(project)}/{_quote(domain)}/{_quote(name)}",
                            params={"limit": limit, "token": token})

    def get_entity(self, kind: str, project: str, domain: str, name: str, version: str) -> dict[str, Any]:
        path = f"/api/v1/{kind}s/{_quote(project)}/{_quote(domain)}/{_quote(name)}/{_quote(version)}"
        return self.request("GET", path)

    def upload_bundle(self, project: str, domain: str, digest: str, data: bytes) -> str:
        """Upload a code bundle unless the control plane has it already; returns its s3:// URI."""
        location = self.request("POST", "/api/v1/dataproxy/upload_location",
                                {"project": project, "domain": domain, "digest": digest})
        if not location["exists"]:
            self._put(location["upload_url"], data, "application/gzip")
        return location["uri"]

    def _put(self, url: str, data: bytes, content_type: str) -> None:
        """PUT to a presigned URL; an explicit type, as urllib's default (form-encoded) makes S3
        emulators try to parse the body."""
        put = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
        self.requests_sent += 1
        with urllib.request.urlopen(put, timeout=self.timeout):
            pass


    def upload_file(self, project: str, domain: str, path: Any) -> str:
        """Upload a local file given as an input (content-addressed); returns its s3:// URI."""
        import hashlib
        from pathlib import Path

        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        location = self.request("POST", "/api/v1/dataproxy/upload_location",
                                {"project": project, "domain": domain, "digest": digest, "filename": Path(path).name})
        if not location["exists"]:
            self._put(location["upload_url"], data, "application/octet-stream")
        return location["uri"]

    # executions

    def create_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/v1/executions", body)

    def get_execution(self, project: str, domain: str, name: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}")

    def list_executions(self, project: str, domain: str, *, phase: str | None = None, workflow: str | None = None,
                        limit: int | None = None, token: str | None = None) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/executions/{_quote(project)}/{_quote(domain)}",
                            params={"phase": phase, "workflow": workflow, "limit": limit, "token": token})

    def node_executions(self, project: str, domain: str, name: str) -> list[dict[str, Any]]:
        path = f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}/nodes"
        return self.request("GET", path)["nodes"]

    def logs(self, project: str, domain: str, name: str, node: str) -> str:
        path = f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}/logs"
        return self.request("GET", path, params={"node": node})["logs"]

    def terminate(self, project: str, domain: str, name: str) -> dict[str, Any]:
        path = f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}/terminate"
        return self.request("POST", path, {})

    def relaunch(self, project: str, domain: str, name: str, new_name: str | None = None) -> dict[str, Any]:
        path = f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}/relaunch"
        return self.request("POST", path, {"name": new_name} if new_name else {})


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _chunks(specs: list[dict[str, Any]], limit: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for spec in specs:
        spec_size = len(json.dumps(spec)) + 2
        if chunk and size + spec_size > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(spec)
        size += spec_size
    if chunk:
        yield chunk


def _error_from(exc: urllib.error.HTTPError) -> SlipstreamError:
    try:
        message = json.loads(exc.read())["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {exc.code} {exc.reason}"
    error_class = _ERRORS.get(exc.code)
    if error_class is not None:
        return error_class(message)
    if 400 <= exc.code < 500:
        return UserError(message)
    return SlipstreamError(f"the control plane failed: {message}")
