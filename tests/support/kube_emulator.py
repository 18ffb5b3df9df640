"""A Kubernetes API emulator on 127.0.0.1 for the official client: kmock 0.8's KubernetesEmulator, served by
kmock.Server on an event loop in a background thread, made to answer as a real API server does.

What kmock 0.8 does on its own, and what `FaithfulEmulator` changes:

- A duplicate create and a read, patch or delete of a missing object raise inside the handler. Unless the
  emulator is entered as an async context manager, that escapes to aiohttp as a bare HTTP 500; entered, it
  is a 409/404 whose `reason` is kmock's prose ("Object Already Exists") with a traceback in `details`, and
  the error piles up in `emulator.errors`. Here: Kubernetes' own Status bodies (409 `AlreadyExists`,
  404 `NotFound`, `pods "x" already exists`), and nothing recorded as a server error.
- `labelSelector` is ignored on lists (every pod comes back). Here: equality, inequality, existence and
  set-based (`in`, `notin`) requirements are applied; a malformed selector is a 400 `BadRequest`.
- A list of a resource that has no object yet is a 404 "Resource Not Found". Here: pods and namespaces
  are declared, so the list is empty.
- The `namespaces` resource cannot be served at all (`/api/v1/namespaces` fails kmock's path parser; the
  path `/api/v1/namespaces/x` reads as "namespace x"). Here: namespaces are kept beside kmock's store
  (create, read, list), and creating a pod in a namespace that does not exist is a 404, as on a cluster.
- Created objects get a uid and a creationTimestamp, and pods start in phase Pending.

Status patches (`patch_namespaced_pod_status`) merge into the stored object as kmock does: dicts merge
recursively, lists (containerStatuses) are replaced whole.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp.web
from kmock import KubernetesEmulator, KubernetesError, KubernetesNotFoundError, ResourceInfo, Server, action
from kmock._internal.k8s import KubernetesObjectConflictError  # not exported by kmock 0.8
from kubernetes import client as k8s

_NAMESPACE_PATH = re.compile(r"/api/v1/namespaces(?:/([^/]+))?/?")
_SET_TERM = re.compile(r"\s*([^\s!=,()]+)\s+(in|notin)\s+\(([^()]*)\)\s*")
_EQUALITY_TERM = re.compile(r"\s*([^\s!=,()]+)\s*(==|=|!=)\s*([^\s!=,()]*)\s*")
_EXISTS_TERM = re.compile(r"\s*(!?)([^\s!=,()]+)\s*")


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> aiohttp.web.Response:
    """A Kubernetes `Status` body, as the official client expects it in an ApiException."""
    body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": details or {}, "code": code}
    return aiohttp.web.json_response(body, status=code)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server adds to every new object."""
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("uid", str(uuid.uuid4()))
    metadata.setdefault("creationTimestamp", _now())
    metadata.setdefault("resourceVersion", "1")
    return obj


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Whether `labels` satisfy a Kubernetes label selector; ValueError if the selector is malformed."""
    for term in re.split(r",(?![^()]*\))", selector):
        if not term.strip():
            continue
        if match := _SET_TERM.fullmatch(term):
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            ok = labels.get(key) in values if op == "in" else labels.get(key) not in values
        elif match := _EQUALITY_TERM.fullmatch(term):
            key, op, value = match.groups()
            ok = (labels.get(key) != value) if op == "!=" else (labels.get(key) == value)
        elif match := _EXISTS_TERM.fullmatch(term):
            ok = (match.group(2) in labels) != bool(match.group(1))
        else:
            raise ValueError(f"unable to parse requirement: {term.strip()!r}")
        if not ok:
            return False
    return True


class FaithfulEmulator(KubernetesEmulator):
    """kmock's KubernetesEmulator with Kubernetes' answers where kmock's differ (see the module docstring)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources["v1/pods"] = ResourceInfo(namespaced=True, kind="Pod", subresources={"status"},
                                                 verbs={"create", "get", "list", "patch", "delete"})
        self.namespaces: dict[str, dict[str, Any]] = {}

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        match = _NAMESPACE_PATH.fullmatch(raw_request.path)
        if match:
            return await self._serve_namespaces(raw_request, match.group(1))
        return await super().__call__(raw_request)

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        metadata = request.data.get("metadata") if isinstance(request.data, dict) else None
        name = request.name or (metadata or {}).get("name")
        kind = request.resource.plural if request.resource is not None else "objects"
        if request.action == action.CREATE and isinstance(request.data, dict):
            if request.namespace is not None and request.namespace not in self.namespaces:
                return _status(404, "NotFound", f'namespaces "{request.namespace}" not found',
                               {"name": request.namespace, "kind": "namespaces"})
            _stamp(request.data)
            if kind == "pods":
                request.data.setdefault("status", {}).setdefault("phase", "Pending")
        try:
            return await super()._handle(request)
        except KubernetesObjectConflictError:
            return _status(409, "AlreadyExists", f'{kind} "{name}" already exists', {"name": name, "kind": kind})
        except KubernetesNotFoundError:
            return _status(404, "NotFound", f'{kind} "{name}" not found', {"name": name, "kind": kind})
        except KubernetesError as exc:
            return _status(exc.status, exc.reason or "InternalError", exc.message or repr(exc))

    async def _serve_list(self, request: Any) -> Any:
        listed = await super()._serve_list(request)
        selector = request.params.get("labelSelector") or ""
        try:
            listed["items"] = [item for item in listed["items"]
                               if selector_matches(selector, (item.get("metadata") or {}).get("labels") or {})]
        except ValueError as exc:
            raise KubernetesError(status=400, reason="BadRequest", message=str(exc)) from exc
        return listed

    async def _serve_namespaces(self, raw_request: aiohttp.web.BaseRequest, name: str | None) -> aiohttp.web.Response:
        """Create, read and list namespaces (kmock's path parser cannot route them)."""
        method = raw_request.method
        if name is None and method == "POST":
            body = await raw_request.json()
            name = (body.get("metadata") or {}).get("name")
            if name in self.namespaces:
                return _status(409, "AlreadyExists", f'namespaces "{name}" already exists',
                               {"name": name, "kind": "namespaces"})
            body = {**_stamp(body), "apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"}}
            self.namespaces[name] = body
            return aiohttp.web.json_response(body, status=201)
        if name is None and method == "GET":
            return aiohttp.web.json_response({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {},
                                              "items": list(self.namespaces.values())})
        if name is not None and method == "GET":
            if name not in self.namespaces:
                return _status(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})
            return aiohttp.web.json_response(self.namespaces[name])
        return _status(405, "MethodNotAllowed", f"the emulator does not serve {method} on namespaces")


def start_emulator() -> tuple[str, Callable[[], None]]:
    """Serve a FaithfulEmulator on 127.0.0.1 (a free port) from a daemon thread: (base URL, stop)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        try:
            async with FaithfulEmulator() as emulator, Server(emulator) as server:
                state.update(url=str(server.url).rstrip("/"), stop=asyncio.Event())
                ready.set()
                await state["stop"].wait()
        except Exception as exc:  # reported to the starting thread instead of dying silently
            state["error"] = exc
            ready.set()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True, name="kube-emulator")
    thread.start()
    if not ready.wait(30) or "error" in state:
        raise RuntimeError(f"the Kubernetes emulator did not start: {state.get('error')!r}")

    def stop() -> None:
        if thread.is_alive():
            loop.call_soon_threadsafe(state["stop"].set)
            thread.join(timeout=10)

    return state["url"], stop


def core_v1(url: str) -> k8s.CoreV1Api:
    """The official client, configured for the emulator (plain HTTP, no credentials)."""
    return k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=url)))
