"""Projects: stored in DynamoDB, then made ready on the cluster where their tasks run.

Creating a project stores it (a conditional put: 409 if the name is taken) and then, when tasks run on
Kubernetes, gives each of its domains a namespace and a service account (`chalicelib.dispatch`). The
stored project stays whatever the cluster answers: a cluster that refuses (502) or cannot be reached (503)
gets an error that says the project exists and names the route that re-applies,
`POST /api/v1/projects/{project}/provision`. That route is idempotent, and also serves projects created
before the stage had a cluster. The store never talks to Kubernetes; this service puts the two together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib.dispatch.errors import ClusterError, ClusterUnreachable
from chalicelib.errors import ValidationError
from chalicelib.store import MetadataStore

# The data bucket's own top-level prefixes: a project of one of these names would share them (a task role
# that may write `<project>/<domain>/*` would reach `bundles/<another project>/…`).
RESERVED_PROJECTS = frozenset({"bundles", "uploads", "specs", "closures", "plans"})


class ProjectService:
    """`provisioner` builds the namespace provisioner on first use, or returns None when tasks do not run on
    Kubernetes (the sandbox): building it imports the Kubernetes client and mints an EKS token, which only
    these two routes should pay for."""

    def __init__(self, metadata: MetadataStore, provisioner: Callable[[], Any] | None = None) -> None:
        self.metadata = metadata
        self._build = provisioner
        self._provisioner: Any = None
        self._lock = threading.Lock()

    def _namespaces(self) -> Any:
        if self._provisioner is None and self._build is not None:
            with self._lock:
                if self._provisioner is None:
                    self._provisioner = self._build()
        return self._provisioner

    def create(self, name: str, description: str = "") -> dict[str, Any]:
        """Store the project, then provision its namespaces; the project's record either way."""
        if name in RESERVED_PROJECTS:
            raise ValidationError(f"project name [{name}] is reserved (the data bucket's own prefixes: "
                                  f"{', '.join(sorted(RESERVED_PROJECTS))}); choose another")
        project = self.metadata.create_project(name, description)
        try:
            self._apply(name, project["domains"])
        except ClusterError as exc:
            kind = ClusterUnreachable if isinstance(exc, ClusterUnreachable) else ClusterError
            raise kind(f"project [{name}] is stored, but its namespaces are not ready: {exc}. Then re-apply them "
                       f"with POST /api/v1/projects/{name}/provision (creating the project again answers 409)"
                       ) from exc
        return project

    def provision(self, name: str) -> dict[str, Any]:
        """Apply the namespaces and service accounts of a stored project's domains again (idempotent)."""
        project = self.metadata.get_project(name)
        applied = self._apply(name, project["domains"])
        return {"project": name, "kubernetes": applied is not None, "objects": applied or []}

    def _apply(self, name: str, domains: list[str]) -> list[dict[str, str]] | None:
        provisioner = self._namespaces()
        return None if provisioner is None else provisioner.provision(name, domains)
