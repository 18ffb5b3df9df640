"""End-to-end fixtures: the examples registered once in the session's sandbox, and a helper that runs
an execution there and waits for it to end."""

from __future__ import annotations

import time
from typing import Any

import pytest

from slipstream.cli.register import build_registration
from tests.conftest import EXAMPLES

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
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
        """Poll until the execution reaches one of `phases`; the deadline only stops a hung test."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            execution = self.client.get_execution(self.project, "development", name)
            if execution["phase"] in phases:
                return execution
            time.sleep(0.1)
        nodes = {node_id: (node["phase"], node.get("error")) for node_id, node in self.nodes(name).items()}
        raise AssertionError(f"execution {name} did not reach {phases}; it is {execution['phase']} with error "
                             f"{execution.get('error')}; its nodes (phase, error): {nodes}")

    def run(self, workflow: str, inputs: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        return self.wait(self.start(workflow, inputs, **extra)["id"]["name"])

    def nodes(self, name: str) -> dict[str, dict[str, Any]]:
        return {n["node_id"]: n for n in self.client.node_executions(self.project, "development", name)}

    def wait_node(self, name: str, node: str, phase: str, deadline: float = 60.0) -> dict[str, Any]:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            found = self.nodes(name).get(node)
            if found and found["phase"] == phase:
                return found
            time.sleep(0.1)
        raise AssertionError(f"node {node} of {name} never reached {phase}")


@pytest.fixture()
def runner(api, registered) -> Runner:
    return Runner(api, registered)
