"""A launcher built on its first use, so that wiring the services costs no Kubernetes client.

On AWS each Lambda function (API, dispatcher, status handler, reconciler) imports the same app.py and
builds the same `Services`. Only the dispatcher launches pods, only the reconciler lists them, and the
API touches them on one route (terminate). Building the EKS launcher means importing `kubernetes`
(≈0.2 s) and minting a token; deferring it keeps that cost out of every other function's cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.dispatch.pods import PodRequest


class DeferredLauncher:
    """Stands in for the launcher `build` returns (see `chalicelib.dispatcher.Launcher`), calling `build`
    once, on the first launch, stop or look at its pods. A failing `build` is retried on the next use."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._launcher: Any = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """Whether the real launcher exists yet (the Kubernetes client imported, a token minted)."""
        return self._launcher is not None

    @property
    def launcher(self) -> Any:
        if self._launcher is None:
            with self._lock:
                if self._launcher is None:
                    self._launcher = self._build()
        return self._launcher

    @property
    def pods(self) -> Any:
        """The real launcher's `PodLauncher` (the reconciler reads its CoreV1Api)."""
        return self.launcher.pods

    def launch(self, request: PodRequest) -> bool:
        return bool(self.launcher.launch(request))

    def stop_execution(self, project: str, domain: str, execution: str) -> int:
        return int(self.launcher.stop_execution(project, domain, execution))
