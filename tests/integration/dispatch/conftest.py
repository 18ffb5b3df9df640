"""Fixtures of the dispatch tests: the official client against a Kubernetes API emulator on 127.0.0.1 (one per
session), a fresh project whose production namespace and service account are provisioned as project creation
makes them, and task specs that pass the IR's JSON Schema."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from chalicelib.dispatch import PodConfig, PodRequest
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from chalicelib.spec.schema import check_spec_shape
from tests.support.kube_emulator import core_v1, start_emulator

ROLE_PATTERN = "arn:aws:iam::123456789012:role/{stack}-task-{project}-{domain}"
CONFIG = PodConfig(default_image="registry.example/slipstream-task:1", region="eu-west-1", data_bucket="data",
                   extra_env={"SLIPSTREAM_HEARTBEAT_SECONDS": "30"})

RICH_TASK: dict[str, Any] = {
    "kind": "task", "schema_version": 1, "task_type": "python",
    "id": {"project": "ml", "domain": "production", "name": "pipelines.training.train", "version": "v1"},
    "interface": {"inputs": [{"name": "epochs", "type": {"simple": "integer"}}],
                  "outputs": [{"name": "o0", "type": {"simple": "float"}}]},
    "function": {"module": "pipelines.training", "name": "train"},
    "metadata": {"cache": False, "cache_version": "", "retries": 2, "timeout_seconds": 600, "interruptible": True},
    "container": {
        "image": "registry.example/train:3",
        "bundle": "s3://data/bundles/ml/production/abc.tar.gz",
        "requests": {"cpu": "2", "mem": "4Gi", "gpu": "1"},
        "limits": {"mem": "8Gi", "ephemeral_storage": "20Gi"},
        "environment": {"MODE": "train", "SLIPSTREAM_REGION": "the task cannot override this"},
        "secrets": [{"group": "db", "key": "password"}, {"group": "wandb"}],
    },
}


@pytest.fixture(scope="session")
def kube() -> Iterator[k8s.CoreV1Api]:
    """The official client against the emulator, started once per session."""
    url, stop = start_emulator()
    yield core_v1(url)
    stop()


@pytest.fixture()
def project(kube: k8s.CoreV1Api) -> str:
    """A project of this test's own, whose `<project>-production` namespace and service account exist."""
    name = f"p{uuid.uuid4().hex[:10]}"
    NamespaceProvisioner(kube, ROLE_PATTERN).provision(name, ["production"])
    return name


@pytest.fixture()
def task_spec() -> Callable[..., dict[str, Any]]:
    """RICH_TASK with `container` and `metadata` fields replaced; checked against ir.schema.json."""

    def make(container: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        spec = copy.deepcopy(RICH_TASK)
        spec["container"].update(container or {})
        spec["metadata"].update(metadata or {})
        check_spec_shape(spec)
        return spec

    return make


@pytest.fixture()
def pod_request(project: str, task_spec: Callable[..., dict[str, Any]]) -> Callable[..., PodRequest]:
    """A PodRequest in this test's project; a new execution unless one is given."""

    def make(execution: str | None = None, node: str = "n0", attempt: int = 0,
             task: dict[str, Any] | None = None) -> PodRequest:
        execution = execution or f"{project}/production/x{uuid.uuid4().hex[:8]}"
        return PodRequest(project=project, domain="production", execution=execution, node_id=node, attempt=attempt,
                          task=task or task_spec(), inputs_uri=f"s3://data/{execution}/{node}/{attempt}/inputs.json",
                          outputs_prefix=f"s3://data/{execution}/{node}/{attempt}/",
                          task_token=f"token-{uuid.uuid4().hex}")

    return make
