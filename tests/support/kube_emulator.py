"""A Kubernetes API emulator on 127.0.0.1 for the official client: kmock 0.8's KubernetesEmulator, served by
kmock.Server on an event loop in a background thread, made to answer as a real API server does.

What kmock 0.8 does on its own, and what `FaithfulEmulator` changes:

- A duplicate create and a read, patch or delete of a missing object raise inside the handler. Unless the
  emulator is entered as an async context manager, that escapes to aiohttp as a bare HTTP 500; entered, it
  is a 409/404 whose `reason` is kmock's prose ("Object Already Exists") with a traceback in `details`, and
  the error piles up in `emulator.errors`. Here: Kubernetes' own Status bodies (409 `AlreadyExists`,
  404 `NotFound`, `pods "x" already exists`), and nothing recorded as a server error.
- `labelSelector`, `fieldSelector`, `limit` and `continue` are ignored on lists (every object comes back).
  Here they are read and applied as the API server does (`tests.support.kube_selectors`): malformed
  selectors, fields a kind does not select on and unreadable continue tokens are a 400 `BadRequest`.
- Pods can be deleted by collection (DELETE /api/v1/namespaces/<ns>/pods with selectors): the answer is
  the PodList of what was deleted; the cluster-wide path refuses DELETE (405), as the API server does.
- A list of a resource that has no object yet is a 404 "Resource Not Found". Here: pods and namespaces
  are declared, so the list is empty.
- The `namespaces` resource cannot be served at all (`/api/v1/namespaces` fails kmock's path parser; the
  path `/api/v1/namespaces/x` reads as "namespace x"). Here: namespaces are kept beside kmock's store
  (create, read, list), and creating a pod in a namespace that does not exist is a 404, as on a cluster.
- Created objects get a uid and a creationTimestamp, and pods start in phase Pending.
- Nothing is validated. Here: what the API server refuses is refused, in its words
  (`tests.support.kube_validation`): a quantity it cannot read is a 400 BadRequest, an invalid name,
  label, container, env var name or resource a 422 Invalid whose `details.causes` name the fields, and
  a pod that fails the `restricted` Pod Security Standard in a namespace that enforces it a 403.
- Service accounts are served (create, read, list, patch), and namespaces are patched too. A PATCH of
  either is a JSON merge patch or a strategic merge patch (the same for their labels and annotations);
  a JSON object sent as a JSON Patch is a 400, as on a cluster; other patch types are not emulated (415).
  Pod status patches stay as kmock applies them: the tests play the kubelet there.

- Secrets are served (create, read, list, patch, delete) as the API server keeps them: `stringData` is
  folded into `data` (base64) and never stored, and an `immutable` secret refuses changes to its data (422).
- Owner references are honoured: after every delete, and every patch of owner references, the garbage
  collector's work is done at once (a cluster does it in the background, moments later): an object none
  of whose owners (by uid) exists any more is deleted, as a pod's token Secret goes with its pod.

- ResourceQuotas are served (create, read, list, patch, delete) and their `pods` limit is enforced as quota
  admission does it (kubernetes plugin/pkg/admission/resourcequota): a pod is refused with 403 Forbidden,
  `pods "x" is forbidden: exceeded quota: <quota>, requested: pods=1, used: pods=N, limited: pods=N`, when
  the namespace's pods that have not ended (phase neither Succeeded nor Failed) already fill it. The check
  and the creation are one step (concurrent creates cannot both take the last slot), and it comes before
  storage, so a duplicate pod at the limit is a 403 too, not a 409. The quota controller's work is done at
  once: every write of a pod or quota leaves each quota's `status` (hard, used) current; a cluster lags a
  little, and refuses pods with `status unknown for quota` until its first count. Other limits (cpu,
  memory, object counts but pods) are stored, not enforced.

Status patches (`patch_namespaced_pod_status`) merge into the stored object as kmock does: dicts merge
recursively, lists (containerStatuses) are replaced whole.
"""

from __future__ import annotations

import asyncio
import base64
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

from tests.support import kube_selectors, kube_validation

_KINDS = {"pods": "Pod", "serviceaccounts": "ServiceAccount", "namespaces": "Namespace", "secrets": "Secret",
          "resourcequotas": "ResourceQuota"}
_PATCHED_KINDS = {"serviceaccounts": "ServiceAccount", "secrets": "Secret", "resourcequotas": "ResourceQuota"}
_WRITES = (action.CREATE, action.UPDATE, action.DELETE)
_ENDED = ("Succeeded", "Failed")  # pods in these phases hold no quota
_MERGE_PATCHES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
_NAMESPACE_PATH = re.compile(r"/api/v1/namespaces(?:/([^/]+))?/?")
_POD_COLLECTION_PATH = re.compile(r"/api/v1/(?:namespaces/([^/]+)/)?pods/?")


def _status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> aiohttp.web.Response:
    """A Kubernetes `Status` body, as the official client expects it in an ApiException."""
    body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "details": details or {}, "code": code}
    return aiohttp.web.json_response(body, status=code)


def refusal(kind: str, obj: dict[str, Any]) -> aiohttp.web.Response | None:
    """The API server's answer to creating `obj` if it refuses it: 400 if it cannot be decoded, else 422."""
    undecodable = kube_validation.decode_error(kind, obj)
    if undecodable:
        return _status(400, "BadRequest", undecodable)
    causes = kube_validation.validate(kind, obj)
    if not causes:
        return None
    name = (obj.get("metadata") or {}).get("name") or ""
    return _status(422, "Invalid", kube_validation.invalid_message(kind, name, causes),
                   {"name": name, "group": "", "kind": kind, "causes": causes})


def patch_refusal(kind: str, name: str, content_type: str, patch: Any) -> aiohttp.web.Response | None:
    """The answer to a PATCH that is not a merge patch, or whose labels or annotations are invalid."""
    media_type = content_type.split(";")[0].strip()
    if media_type == "application/json-patch+json" and not isinstance(patch, list):
        return _status(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if media_type not in _MERGE_PATCHES:  # JSON Patch lists and server-side apply: not emulated
        return _status(415, "UnsupportedMediaType", f"the emulator applies merge patches only, not [{content_type}]")
    meta = (patch.get("metadata") or {}) if isinstance(patch, dict) else {}
    kept = {field: {k: v for k, v in (meta.get(field) or {}).items() if v is not None}
            for field in ("labels", "annotations")}
    causes = [c for c in kube_validation.object_meta({**kept, "name": name}, lambda _: [])]
    if causes:
        return _status(422, "Invalid", kube_validation.invalid_message(kind, name, causes),
                       {"name": name, "group": "", "kind": kind, "causes": causes})
    return None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def fold_string_data(secret: dict[str, Any]) -> dict[str, Any]:
    """What the API server does with a Secret's `stringData`: base64 into `data` (winning over it), then gone."""
    plain = secret.pop("stringData", None) or {}
    if plain:
        encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in plain.items()}
        secret["data"] = {**(secret.get("data") or {}), **encoded}
    return secret


def immutable_refusal(stored: dict[str, Any], patch: Any) -> aiohttp.web.Response | None:
    """An immutable Secret's data (and its immutability) cannot change."""
    if not stored.get("immutable") or not isinstance(patch, dict):
        return None
    changed = [field for field in ("data", "stringData") if patch.get(field)]
    if "immutable" in patch and patch["immutable"] is not True:
        changed.append("immutable")
    if not changed:
        return None
    name = stored["metadata"]["name"]
    causes = [{"reason": "FieldValueForbidden", "message": "Forbidden: field is immutable when `immutable` is set",
               "field": field} for field in changed]
    return _status(422, "Invalid", kube_validation.invalid_message("Secret", name, causes),
                   {"name": name, "group": "", "kind": "Secret", "causes": causes})


def _sets_owners(request: Any) -> bool:
    """Whether a request patches an object's owner references (the only other time the collector looks)."""
    data = request.data if request.action == action.UPDATE and isinstance(request.data, dict) else {}
    return "ownerReferences" in (data.get("metadata") or {})


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server adds to every new object."""
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("uid", str(uuid.uuid4()))
    metadata.setdefault("creationTimestamp", _now())
    metadata.setdefault("resourceVersion", "1")
    return obj


def _canonical(amount: Any) -> str:
    """A whole quantity as Kubernetes prints it ("2", not "2.0")."""
    return str(int(amount)) if amount == amount.to_integral_value() else str(amount)


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Whether `labels` satisfy a Kubernetes label selector; ValueError if the selector is malformed."""
    return kube_selectors.label_matcher(selector)(labels)


class FaithfulEmulator(KubernetesEmulator):
    """kmock's KubernetesEmulator with Kubernetes' answers where kmock's differ (see the module docstring)."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources["v1/pods"] = ResourceInfo(namespaced=True, kind="Pod", subresources={"status"},
                                                 verbs={"create", "get", "list", "patch", "delete"})
        self.resources["v1/serviceaccounts"] = ResourceInfo(namespaced=True, kind="ServiceAccount",
                                                            verbs={"create", "get", "list", "patch", "delete"})
        self.resources["v1/secrets"] = ResourceInfo(namespaced=True, kind="Secret",
                                                    verbs={"create", "get", "list", "patch", "delete"})
        self.resources["v1/resourcequotas"] = ResourceInfo(namespaced=True, kind="ResourceQuota",
                                                           verbs={"create", "get", "list", "patch", "delete"})
        self._admission = asyncio.Lock()
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.revision = 1  # the store's resourceVersion: one more per write


    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        match = _NAMESPACE_PATH.fullmatch(raw_request.path)
        if match:
            return await self._serve_namespaces(raw_request, match.group(1))
        match = _POD_COLLECTION_PATH.fullmatch(raw_request.path)
        if match and raw_request.method == "DELETE":
            return await self._delete_pod_collection(match.group(1), dict(raw_request.query))
        return await super().__call__(raw_request)

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        try:
            return await self._answer(request)
        finally:
            # kmock keeps every request for assertions and scans that history for each new one, so a request
            # cost time in proportion to all before it (180 ms after 1,200); nothing reads it: answered, forgotten.
            self._requests[:] = [kept for kept in self._requests if kept is not request]

    async def _answer(self, request: Any) -> aiohttp.web.StreamResponse:
        metadata = request.data.get("metadata") if isinstance(request.data, dict) else None
        name = request.name or (metadata or {}).get("name")
        kind = request.resource.plural if request.resource is not None else "objects"
        creates = request.action == action.CREATE and isinstance(request.data, dict)
        if creates:
            refused = self._create_refusal(request, kind, name)
            if refused is not None:
                return refused
        if request.action == action.UPDATE and kind in _PATCHED_KINDS and request.subresource is None:
            refused = self._patch_refusal(request, kind, name or "")
            if refused is not None:
                return refused
        if not (creates and kind == "pods"):
            return await self._store(request, kind, name)
        async with self._admission:  # quota admission and storage as one step, as the API server makes them
            refused = self._quota_refusal(request.namespace, name or "")
            return refused if refused is not None else await self._store(request, kind, name)

    def _create_refusal(self, request: Any, kind: str, name: str | None) -> aiohttp.web.Response | None:
        """The API server's refusal of a new object (decoding, namespace, validation, Pod Security), or None
        after stamping it as the API server does."""
        undecodable = kube_validation.decode_error(_KINDS.get(kind, ""), request.data)
        if undecodable:
            return _status(400, "BadRequest", undecodable)
        if request.namespace is not None and request.namespace not in self.namespaces:
            return _status(404, "NotFound", f'namespaces "{request.namespace}" not found',
                           {"name": request.namespace, "kind": "namespaces"})
        refused = refusal(_KINDS[kind], request.data) if kind in _KINDS else None
        if refused is not None:
            return refused
        labels = self.namespaces.get(request.namespace, {}).get("metadata", {}).get("labels") or {}
        forbidden = kube_validation.pod_security_refusal(labels, request.data) if kind == "pods" else None
        if forbidden:
            return _status(403, "Forbidden", forbidden, {"name": name, "kind": "pods"})
        _stamp(request.data)
        if kind == "pods":
            request.data.setdefault("status", {}).setdefault("phase", "Pending")
        if kind == "secrets":
            fold_string_data(request.data)
        return None

    async def _store(self, request: Any, kind: str, name: str | None) -> aiohttp.web.StreamResponse:
        """kmock's handling, with Kubernetes' Status bodies for its errors and the controllers' work after."""
        try:
            response = await super()._handle(request)
        except KubernetesObjectConflictError:
            return _status(409, "AlreadyExists", f'{kind} "{name}" already exists', {"name": name, "kind": kind})
        except KubernetesNotFoundError:
            return _status(404, "NotFound", f'{kind} "{name}" not found', {"name": name, "kind": kind})
        except KubernetesError as exc:
            return _status(exc.status, exc.reason or "InternalError", exc.message or repr(exc))
        if response.status < 300 and request.action in _WRITES:
            self.revision += 1
        if response.status < 300 and (request.action == action.DELETE or _sets_owners(request)):
            await self._collect_garbage()
        if response.status < 300 and kind in ("pods", "resourcequotas") and request.action in _WRITES:
            self._count_quota_usage()
        return response

    def _live(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [obj.raw for (resource, ns, _), obj in self._objects.items()
                if resource.plural == plural and not obj.deleted and namespace in (None, ns)]

    def _pods_in_use(self, namespace: str) -> int:
        """What quota counts as `pods`: the namespace's pods that have not ended."""
        return sum((pod.get("status") or {}).get("phase") not in _ENDED for pod in self._live("pods", namespace))

    def _quota_refusal(self, namespace: str, name: str) -> aiohttp.web.Response | None:
        """403 if one more pod would exceed a ResourceQuota's `pods` in `namespace` (the first such quota)."""
        used = self._pods_in_use(namespace)
        for quota in sorted(self._live("resourcequotas", namespace), key=lambda q: q["metadata"]["name"]):
            hard = ((quota.get("spec") or {}).get("hard") or {}).get("pods")
            if hard is None or used + 1 <= kube_validation.parse_quantity(hard):
                continue
            limited = _canonical(kube_validation.parse_quantity(hard))
            message = (f'pods "{name}" is forbidden: exceeded quota: {quota["metadata"]["name"]}, requested: pods=1, '
                       f"used: pods={used}, limited: pods={limited}")
            return _status(403, "Forbidden", message, {"name": name, "kind": "pods"})
        return None

    def _count_quota_usage(self) -> None:
        """The quota controller's work, done at once: every quota's status holds its hard limits and the usage
        of what the emulator enforces (`pods`)."""
        for (resource, namespace, _), obj in self._objects.items():
            if resource.plural != "resourcequotas" or obj.deleted:
                continue
            hard = dict((obj.raw.get("spec") or {}).get("hard") or {})
            used = {"pods": str(self._pods_in_use(namespace))} if "pods" in hard else {}
            if obj.raw.get("status") != {"hard": hard, "used": used}:
                obj.patch({"status": {"hard": hard, "used": used}})

    def _patch_refusal(self, request: Any, kind: str, name: str) -> aiohttp.web.Response | None:
        refused = patch_refusal(_PATCHED_KINDS[kind], name, request.headers.get("Content-Type", ""), request.data)
        if refused is not None or kind != "secrets" or not isinstance(request.data, dict):
            return refused
        key = (request.resource, request.namespace, name)
        if key in self._objects and not self._objects[key].deleted:
            refused = immutable_refusal(self._objects[key].raw, request.data)
        fold_string_data(request.data)
        return refused

    async def _collect_garbage(self) -> None:
        """Delete every object whose owners (ownerReferences, by uid) are all gone."""
        async with self._lock:
            live = [(key, obj) for key, obj in self._objects.items() if not obj.deleted]
            uids = {(obj.raw.get("metadata") or {}).get("uid") for _, obj in live}
            for (resource, _, _), obj in live:
                owners = (obj.raw.get("metadata") or {}).get("ownerReferences") or []
                if owners and not any(owner.get("uid") in uids for owner in owners):
                    raw = obj.raw
                    obj.delete()
                    await self._buses[resource].put({"type": "DELETED", "object": raw})

    async def _serve_list(self, request: Any) -> Any:
        """kmock's list, narrowed by labelSelector and fieldSelector and paged by limit/continue."""
        listed = await super()._serve_list(request)
        try:
            listed["items"], listed["metadata"] = kube_selectors.select_page(
                listed["items"], dict(request.params), request.resource.plural, self.revision)
        except ValueError as exc:
            raise KubernetesError(status=400, reason="BadRequest", message=str(exc)) from exc
        return listed

    async def _delete_pod_collection(self, namespace: str | None, params: dict[str, str]) -> aiohttp.web.Response:
        """deletecollection: every pod of the namespace the selectors match, deleted at once (pods that have
        ended or were never scheduled need no grace period); the answer is the list of the deleted pods. The
        API server serves it per namespace only: DELETE /api/v1/pods is not allowed."""
        if namespace is None:
            return _status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        try:
            labels = kube_selectors.label_matcher(params.get("labelSelector") or "")
            fields = kube_selectors.field_matcher(params.get("fieldSelector") or "", "pods")
        except ValueError as exc:
            return _status(400, "BadRequest", str(exc))
        deleted = []
        async with self._lock:
            for (resource, ns, _), obj in list(self._objects.items()):
                if resource.plural != "pods" or ns != namespace or obj.deleted:
                    continue
                raw = obj.raw
                if (not labels((raw.get("metadata") or {}).get("labels") or {}) or not fields(raw)):
                    continue
                obj.delete()
                deleted.append(raw)
                self.revision += 1
                await self._buses[resource].put({"type": "DELETED", "object": raw})
        if deleted:
            await self._collect_garbage()
            self._count_quota_usage()
        return aiohttp.web.json_response({"apiVersion": "v1", "kind": "PodList",
                                          "metadata": {"resourceVersion": str(self.revision)},
                                          "items": sorted(deleted, key=lambda pod: pod["metadata"]["name"])})

    async def _serve_namespaces(self, raw_request: aiohttp.web.BaseRequest, name: str | None) -> aiohttp.web.Response:
        """Create, read, list and patch namespaces (kmock's path parser cannot route them)."""
        method = raw_request.method
        if name is None and method == "POST":
            return self._create_namespace(await raw_request.json())
        if name is None and method == "GET":
            try:
                items, meta = kube_selectors.select_page(list(self.namespaces.values()), dict(raw_request.query),
                                                         "namespaces", self.revision)
            except ValueError as exc:
                return _status(400, "BadRequest", str(exc))
            return aiohttp.web.json_response({"apiVersion": "v1", "kind": "NamespaceList", "metadata": meta,
                                              "items": items})
        if name is not None and name not in self.namespaces and method in ("GET", "PATCH"):
            return _status(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})
        if name is not None and method == "GET":
            return aiohttp.web.json_response(self.namespaces[name])
        if name is not None and method == "PATCH":
            patch = await raw_request.json()
            refused = patch_refusal("Namespace", name, raw_request.headers.get("Content-Type", ""), patch)
            if refused is not None:
                return refused
            self.namespaces[name] = merge_patch(self.namespaces[name], patch)
            return aiohttp.web.json_response(self.namespaces[name])
        return _status(405, "MethodNotAllowed", f"the emulator does not serve {method} on namespaces")

    def _create_namespace(self, body: Any) -> aiohttp.web.Response:
        refused = refusal("Namespace", body if isinstance(body, dict) else {})
        if refused is not None:
            return refused
        name = body["metadata"]["name"]
        if name in self.namespaces:
            return _status(409, "AlreadyExists", f'namespaces "{name}" already exists',
                           {"name": name, "kind": "namespaces"})
        body = {**_stamp(body), "apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"}}
        body["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name  # as the API server does
        self.namespaces[name] = body
        return aiohttp.web.json_response(body, status=201)


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
