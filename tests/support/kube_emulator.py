"""A Kubernetes API emulator on 127.0.0.1 for the official client: kmock's KubernetesEmulator, served by
kmock.Server on an event loop in a background thread.

kmock 0.8 raises a duplicate create or a read of a missing object past its own error rendering, so the
client sees HTTP 500; `FaithfulEmulator` renders them as Kubernetes does (409 AlreadyExists, 404
NotFound), so tests exercise those paths for real.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from kmock import KubernetesEmulator, Server
from kmock._internal.k8s import KubernetesError
from kubernetes import client as k8s


class FaithfulEmulator(KubernetesEmulator):
    async def _handle(self, request: Any) -> Any:
        try:
            return await super()._handle(request)
        except KubernetesError as exc:
            return await self._render_error(exc)

    async def _serve_list(self, request: Any) -> Any:
        """kmock lists every object of a resource; a real API server filters by `labelSelector`."""
        listed = await super()._serve_list(request)
        selector = request.params.get("labelSelector")
        if selector:
            listed["items"] = [item for item in listed["items"] if _matches(selector, item)]
        return listed


def _matches(selector: str, item: dict[str, Any]) -> bool:
    labels = (item.get("metadata") or {}).get("labels") or {}
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value.lstrip("="):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def start_emulator() -> tuple[str, FaithfulEmulator, Callable[[], None]]:
    """(base URL, emulator, stop)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async with FaithfulEmulator() as emulator, Server(emulator) as server:
            state.update(url=str(server.url).rstrip("/"), emulator=emulator, stop=asyncio.Event())
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True, name="kube-emulator")
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the Kubernetes emulator did not start")

    def stop() -> None:
        loop.call_soon_threadsafe(state["stop"].set)
        thread.join(timeout=10)

    return state["url"], state["emulator"], stop


def core_v1(url: str) -> k8s.CoreV1Api:
    configuration = k8s.Configuration(host=url)
    configuration.verify_ssl = False
    return k8s.CoreV1Api(k8s.ApiClient(configuration))
