"""End-to-end fixtures: the examples registered once in the session's sandbox, and a helper that runs
an execution there and waits for it to end."""

from __future__ import annotations

import time
from typing import Any

import pytest

from slipstream.cli.register import build_registration
from tests.conftest import EXAMPLES

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
LONG_POLL_SECONDS = 10
VERSION = "e2e"


@pytest.fixture(scope="session")
def registered(sandbox) -> str:
    """Every example registered into the sandbox's default project; returns the version."""
    from slipstream.client import ApiClient
    from slipstream.config import ClientConfig

    client = ApiClient(ClientConfig(sandbox.api_url, "default", "development", "none"))
    specs, version = build_registration(client, [str(EXAMPLES)], "default", "development", VERSION)
    client.register(specs)
    return version


class Runner:
    def __init__(self, client: Any, version: str, project: str = "default") -> None:
        self.client = client
        self.version = version
        self.project = project

    def start(self, workflow: str, inputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        body = {"project": self.project, "domain": "development", "inputs": inputs or {},
                "workflow": {"name": workflow, "version": self.version}, **extra}
        return self.client.create_execution(body)

    def wait(self, name: str, phases: tuple[str, ...] = TERMINAL, deadline: float = 90.0) -> dict[str, Any]:
        """Follow the execution with the API's long poll until it reaches one of `phases` (a request per change,
        answered when it happens: polling at 0.1 s cost the session's sandbox a fifth of its CPU in a burst);
        the deadline only stops a hung test."""
        execution = self._follow(name, lambda e: e["phase"] in phases, deadline)
        if execution["phase"] in phases:
            return execution
        nodes = {node_id: (node["phase"], node.get("error")) for node_id, node in self.nodes(name).items()}
        raise AssertionError(f"execution {name} did not reach {phases}; it is {execution['phase']} with error "
                             f"{execution.get('error')}; its nodes (phase, error): {nodes}")

    def _follow(self, name: str, reached: Any, deadline: float, nodes: bool = False) -> dict[str, Any]:
        """The execution's view (with "nodes" if asked) once `reached(view)` holds, or when `deadline` passes."""
        end = time.monotonic() + deadline
        view = self.client.get_execution(self.project, "development", name, nodes=nodes, wait_seconds=0)
        while not reached(view) and time.monotonic() < end:
            wait = int(min(LONG_POLL_SECONDS, max(1.0, end - time.monotonic())))
            view = self.client.get_execution(self.project, "development", name, nodes=nodes,
                                             since=view.get("change_token"), wait_seconds=wait)
        view.pop("change_token", None)
        return view

    def run(self, workflow: str, inputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        return self.wait(self.start(workflow, inputs, **extra)["id"]["name"])

    def nodes(self, name: str) -> dict[str, dict[str, Any]]:
        return {n["node_id"]: n for n in self.client.node_executions(self.project, "development", name)}

    def wait_node(self, name: str, node: str, phase: str, deadline: float = 60.0) -> dict[str, Any]:
        def at_phase(view: dict[str, Any]) -> bool:
            return any(n["node_id"] == node and n["phase"] == phase for n in view["nodes"])

        view = self._follow(name, at_phase, deadline, nodes=True)
        if not at_phase(view):
            raise AssertionError(f"node {node} of {name} never reached {phase}")
        return next(n for n in view["nodes"] if n["node_id"] == node)


@pytest.fixture()
def runner(api, registered) -> Runner:
    return Runner(api, registered)
