"""What can go wrong between the control plane and the Kubernetes API server:

    SlipstreamError
    └── ClusterError             the API server refused a request (RBAC, admission, an invalid object)  502
        ├── ClusterUnreachable   no answer: endpoint, network path, DNS, TLS, timeout                   503
        ├── PodRejected          the API server refused a task's pod as invalid (422): the task's own
        │                        definition is at fault (e.g. an environment variable name Kubernetes
        │                        does not allow), so another attempt cannot succeed
        └── NoCapacity           every task slot of the project-domain is taken (its pod quota, or the
                                 sandbox's limit): not a failure, the dispatcher waits for a slot

On an HTTP route these are 5xx, not 4xx: the caller's request was valid and nothing is a bug of ours
(the API's 500); a dependency of the control plane refused (502, the operator must fix the cluster) or
did not answer (503, worth retrying). No kubernetes import here: app.py can name these at no cost.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import SlipstreamError


class ClusterError(SlipstreamError):
    status_code = 502
    code = "ClusterError"


class ClusterUnreachable(ClusterError):
    status_code = 503
    code = "ClusterUnreachable"


class PodRejected(ClusterError):
    """The API server's refusal of a pod, with its field-level causes (`details.causes`: field, message)."""

    code = "PodRejected"

    def __init__(self, message: str, *, namespace: str = "", name: str = "",
                 causes: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.namespace = namespace
        self.name = name
        self.causes = list(causes or [])


class NoCapacity(ClusterError):
    status_code = 503
    code = "NoCapacity"


def status_of(exc: Any) -> dict[str, Any]:
    """The Kubernetes `Status` an ApiException carries, or {} (a proxy's error page, an empty body)."""
    try:
        body = json.loads(getattr(exc, "body", None) or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def cluster_failure(action: str, what: str, exc: Any, hint: str = "") -> ClusterError:
    """A ClusterError naming the object, the API server's answer and its own message, and what would fix it
    (`exc` is the client's ApiException: status, reason, body)."""
    detail = status_of(exc).get("message") or ""
    message = f"cannot {action} [{what}]: Kubernetes answered {exc.status} {exc.reason}"
    return ClusterError(message + (f" ({detail})" if detail else "") + (f"; {hint}" if hint else ""))


def cluster_unreachable(action: str, what: str, exc: Exception) -> ClusterUnreachable:
    return ClusterUnreachable(f"cannot {action} [{what}]: the Kubernetes API server is unreachable ({exc}); "
                              "check the cluster endpoint and the network path from the control plane")


def pod_rejected(namespace: str, name: str, exc: Any) -> PodRejected:
    """The API server's refusal of a pod (422 Invalid, or 400 when a field cannot even be decoded, such as a
    quantity '4GB'), with Kubernetes' own message, which names the field."""
    status = status_of(exc)
    detail = status.get("message") or f"{exc.status} {exc.reason}"
    causes = (status.get("details") or {}).get("causes") or []
    return PodRejected(f"Kubernetes refused pod [{namespace}/{name}] as invalid: {detail}; the task's definition "
                       "is at fault: fix it and register a new version", namespace=namespace, name=name,
                       causes=[c for c in causes if isinstance(c, dict)])
