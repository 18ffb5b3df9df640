"""The console: a web page to watch and steer workflows, served by the same app as the API.

Two parts live here, both thin:

- Static assets (chalicelib/console/: one HTML page, its scripts — common.js, graph.js, timeline.js, panel.js,
  console.js — and stylesheet, plain JS with no build step) served under `/console/`. They hold no data, so
  they are public like the OpenAPI document; every call the page makes goes to the JSON API, which is
  IAM-authorized on AWS (`slipstream console` signs them).
- Two aggregate reads, so that each view of the page costs one API request however large the workflow:
  an execution with its graph and every node execution (`/executions/…/{name}/graph`), and a launch plan
  with the inputs a launch form needs and the name's active version (`/launch_plans/…/{version}/form`, which
  the launch plan page reads too; the list of a launch plan's versions names the active one as well, so the
  versions view marks it without a request per version). Each node execution carries the attempts before its
  last (chalicelib.attempts), which the timeline draws as one bar per attempt. The graph of a workflow version
  never changes, so it is derived once per version and kept in a small in-process cache. A gate node carries
  its gate (kind, signal name, value type), so the execution page can answer it (POST …/signals/{name})
  without another read.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.spec import Identifier
from chalicelib.spec.entities import node_sources
from chalicelib.spec.identifiers import NAME_PATTERN

CONTENT_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
                 "css": "text/css; charset=utf-8", "svg": "image/svg+xml"}


def read_asset(name: str) -> tuple[str, str]:
    """(text, content type) of one console asset; 400 for a name that cannot be one, 404 for a missing one."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValidationError(f"asset [{name[:100]}] is not a console file name: use e.g. console.js "
                              "(letters, digits, '_', '.' and '-')")
    found = resources.files("chalicelib").joinpath("console", name)
    kind = name.rsplit(".", 1)[-1]
    if kind not in CONTENT_TYPES or not found.is_file():
        raise NotFoundError(f"the console has no file [{name}]; open /console/index.html for its page")
    return found.read_text(encoding="utf-8"), CONTENT_TYPES[kind]


def workflow_graph(workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow's top-level nodes and the edges between them (data and `>>` order), as the page lays
    them out. Map items (`<node>.<i>`), dynamic children (`<node>/<child>`) and branch cases are shown
    inside their node, from the node executions."""
    nodes, edges = [], []
    ids = {node["id"] for node in workflow["nodes"]}
    for node in workflow["nodes"]:
        entity = node.get("task") or node.get("workflow") or {}
        shown = {"id": node["id"], "kind": node["kind"], "entity": entity.get("name") or node.get("name")}
        if node["kind"] == "gate":
            shown["gate"] = {"gate": node["gate"], "name": node.get("name"), "type": node.get("type")}
        nodes.append(shown)
        edges.extend([source, node["id"]] for source in sorted(node_sources(node) & ids))
    return {"nodes": nodes, "edges": edges}


class Console:
    """The console's aggregate reads over the execution and registration services."""

    def __init__(self, executions: Any, registration: Any, activation: Any = None) -> None:
        """`activation`: what answers `active_version(project, domain, name)` (chalicelib.schedules); None reads
        it from the registration's entities table without the Scheduler client, which this read never needs."""
        self.executions = executions
        self.registration = registration
        self._activation = activation
        self._graph = functools.lru_cache(maxsize=256)(self._load_graph)

    def _load_graph(self, project: str, domain: str, name: str, version: str) -> dict[str, Any]:
        spec = self.registration.get("workflow", Identifier(project, domain, name, version))["spec"]
        return {**workflow_graph(spec), "interface": spec["interface"]}

    def execution_graph(self, project: str, domain: str, name: str) -> dict[str, Any]:
        """The execution (inputs and outputs included), its workflow's graph and interface, and every node
        execution: what the execution page shows, in one answer."""
        execution = self.executions.get(project, domain, name)
        ref = execution["workflow"]
        graph = self._graph(ref["project"], ref["domain"], ref["name"], ref["version"])
        return {"execution": execution, "graph": graph, "nodes": self.executions.nodes(project, domain, name)}

    def launch_form(self, project: str, domain: str, name: str, version: str) -> dict[str, Any]:
        """A launch plan with one field per workflow input: its type, its default, whether the plan fixes it
        and whether the caller must give it."""
        plan = self.registration.get("launch_plan", Identifier(project, domain, name, version))
        spec = plan["spec"]
        workflow = self.registration.get("workflow", Identifier.from_dict(spec["workflow"]))["spec"]
        defaults, fixed = spec.get("default_inputs") or {}, spec.get("fixed_inputs") or {}
        fields = []
        for variable in workflow["interface"]["inputs"]:
            key = variable["name"]
            has_default = key in defaults or "default" in variable or "optional" in (variable.get("type") or {})
            fields.append({"name": key, "type": variable.get("type"),
                           "default": defaults.get(key, variable.get("default")), "fixed": key in fixed,
                           "value": fixed.get(key),
                           "required": key not in fixed and not has_default})
        return {"launch_plan": plan, "workflow": spec["workflow"], "inputs": fields,
                "active_version": self.active_version(project, domain, name)}

    def active_version(self, project: str, domain: str, name: str) -> str | None:
        """The launch plan name's active version (None: no version is active)."""
        if self._activation is None:
            from chalicelib.schedules.activation import ActivationService

            self._activation = ActivationService(self.registration.metadata.models.Entity, self.registration, None,
                                                 stack="", target_arn="", role_arn="")
        return self._activation.active_version(project, domain, name)

