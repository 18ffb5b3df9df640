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
from slipstream.transport import Attempts, send

_ERRORS = {400: ValidationError, 404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError}
MAX_REQUEST_BYTES = 5 * 1024 * 1024
SECONDS_PER_SPEC = 0.25  # added to the timeout of a registration request per spec it carries
_REGISTER_RERUN = ("registration is idempotent, so running `slipstream register` again is safe: what was stored "
                   "stays, identical content is not stored twice")


class ApiClient:
    def __init__(self, config: ClientConfig, timeout: float = 60.0, tries: int = 4, backoff: float = 0.5) -> None:
        """`timeout`: seconds to wait for an answer (a registration adds SECONDS_PER_SPEC per spec);
        `tries`: sends of one request at most, when a connection is reset (see slipstream.transport);
        `backoff`: seconds before the second send, doubling after."""
        self.config = config
        self.timeout = timeout
        self.tries = tries
        self.backoff = backoff
        self.requests_sent = 0

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None, *,
                idempotent: bool | None = None, timeout: float | None = None, rerun_hint: str = "") -> Any:
        """Send one API request. `idempotent` (default: GET, HEAD, PUT and DELETE are) lets a lost
        connection be retried after the request was sent."""
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.config.api_url}{path}" + (f"?{query}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.config.auth == "sigv4":
            headers = self._sign(method, url, data, headers)
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        attempts = Attempts(timeout or self.timeout, self.tries, self.backoff, rerun_hint=rerun_hint,
                            idempotent=method in ("GET", "HEAD", "PUT", "DELETE") if idempotent is None else idempotent)
        try:
            payload = send(request, attempts, self.config.api_url, self._count)
        except urllib.error.HTTPError as exc:
            raise _error_from(exc) from None
        return json.loads(payload) if payload else None

    def _count(self) -> None:
        self.requests_sent += 1

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
        """Register in as few requests as the body limit allows, keeping dependency order. A request acts in
        one project-domain (its path's), so specs go grouped by their id's project and domain."""
        results: list[dict[str, Any]] = []
        for (project, domain), scoped in _by_scope(specs, self.config.project, self.config.domain).items():
            path = f"/api/v1/projects/{_quote(project)}/domains/{_quote(domain)}/register"
            for chunk in _chunks(scoped, MAX_REQUEST_BYTES):
                results.extend(self.request("POST", path, {"specs": chunk}, idempotent=True,
                                            timeout=self.timeout + SECONDS_PER_SPEC * len(chunk),
                                            rerun_hint=_REGISTER_RERUN)["entities"])
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
        location = self.request("POST", f"/api/v1/dataproxy/{_quote(project)}/{_quote(domain)}/upload_location",
                                {"digest": digest}, idempotent=True)
        if not location["exists"]:
            self._put(location["upload_url"], data, "application/gzip")
        return location["uri"]

    def _put(self, url: str, data: bytes, content_type: str) -> None:
        """PUT to a presigned URL; an explicit type, as urllib's default (form-encoded) makes S3
        emulators try to parse the body."""
        put = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
        send(put, Attempts(self.timeout, self.tries, self.backoff, idempotent=True), urllib.parse.urlsplit(url).netloc,
             self._count)


    def upload_file(self, project: str, domain: str, path: Any) -> str:
        """Upload a local file given as an input (content-addressed); returns its s3:// URI."""
        import hashlib
        from pathlib import Path

        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        location = self.request("POST", f"/api/v1/dataproxy/{_quote(project)}/{_quote(domain)}/upload_location",
                                {"digest": digest, "filename": Path(path).name}, idempotent=True)
        if not location["exists"]:
            self._put(location["upload_url"], data, "application/octet-stream")
        return location["uri"]

    # executions

    def create_execution(self, body: dict[str, Any]) -> dict[str, Any]:
        """Start an execution in the body's project and domain (the configured ones if it names none)."""
        project, domain = body.get("project", self.config.project), body.get("domain", self.config.domain)
        return self.request("POST", f"/api/v1/executions/{_quote(project)}/{_quote(domain)}", body,
                            idempotent=bool(body.get("name")))  # a named execution is created once

    def get_execution(self, project: str, domain: str, name: str, *, nodes: bool = False,
                      since: str | None = None, wait_seconds: int | None = None) -> dict[str, Any]:
        """The execution; with `nodes` its nodes too (key "nodes") and with any of the three its
        "change_token". With `since` (an earlier change_token) the answer waits up to `wait_seconds` for the
        next change. A control plane without long polls answers at once, without those keys."""
        params = {"nodes": "true" if nodes else None, "since": since, "wait_seconds": wait_seconds}
        return self.request("GET", f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}",
                            params=params, timeout=self.timeout + (wait_seconds or 0))

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

    def signal(self, project: str, domain: str, name: str, signal: str, value: Any) -> dict[str, Any]:
        """Answer gate `signal` (wait_for_input's value; an approval's True or False). Sent once: a repeat is a
        conflict, not a retry."""
        path = (f"/api/v1/executions/{_quote(project)}/{_quote(domain)}/{_quote(name)}/signals/"
                f"{_quote(signal)}")
        return self.request("POST", path, {"value": value})


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _by_scope(specs: list[dict[str, Any]], project: str, domain: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Specs by the (project, domain) of their id, in order; one without a well-formed id goes with the
    configured ones, for the API to name what is wrong with it."""
    scopes: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for spec in specs:
        ident = spec.get("id") if isinstance(spec, dict) else None
        scope = (project, domain)
        if isinstance(ident, dict) and isinstance(ident.get("project"), str) and isinstance(ident.get("domain"), str):
            scope = (ident["project"], ident["domain"])
        scopes.setdefault(scope, []).append(spec)
    return scopes


def _chunks(specs: list[dict[str, Any]], limit: int) -> Iterator[list[dict[str, Any]]]:
    """Runs of specs whose request body, `{"specs": [s1, s2]}` as `request` encodes it (ASCII, so characters
    are bytes), is at most `limit` bytes; a spec too large on its own goes alone, for the API to refuse."""
    envelope = len(json.dumps({"specs": []}))
    chunk: list[dict[str, Any]] = []
    size = envelope
    for spec in specs:
        spec_size = len(json.dumps(spec))
        if chunk and size + 2 + spec_size > limit:  # 2: the ", " between items
            yield chunk
            chunk, size = [], envelope
        size += spec_size + (2 if chunk else 0)
        chunk.append(spec)
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
