"""The launcher an EKS stage wires (`services.kubernetes_launcher`) is built on its first use, then launches
and stops pods like the KubernetesLauncher it stands for: here against the Kubernetes API emulator, with an
EKS token minted by a real STS client from throwaway credentials (presigning needs no network)."""

from __future__ import annotations

import dataclasses

import boto3
import pytest

from chalicelib.config import Settings
from chalicelib.dispatch import DeferredLauncher, namespace_for, pod_name
from chalicelib.services import kubernetes_launcher

pytestmark = pytest.mark.integration


@pytest.fixture()
def stage(kube) -> Settings:
    return dataclasses.replace(Settings.for_stack("deferred"), eks_cluster_name="prod",
                               eks_endpoint=kube.api_client.configuration.host, eks_ca_data="Zm9v",
                               default_image="ghcr.io/slipstream/task:0.1.0")


def test_a_stage_without_a_cluster_has_no_launcher():
    assert kubernetes_launcher(Settings.for_stack("deferred")) is None


def test_the_launcher_is_built_on_the_first_launch_and_creates_the_pod(kube, stage, project, pod_request,
                                                                         task_spec):
    calls = []
    launcher = kubernetes_launcher(stage, boto3.session.Session("AKIDEXAMPLE", "fake", region_name="us-east-1"))
    assert isinstance(launcher, DeferredLauncher) and not launcher.built
    original = launcher._build
    launcher._build = lambda: calls.append(1) or original()  # counts builds; builds the real thing

    request = pod_request(task=task_spec(container={"image": None}))
    assert launcher.launch(request) is True
    assert launcher.built and calls == [1]
    assert launcher.launch(request) is False  # a redelivered message: the pod exists
    assert calls == [1]

    name = pod_name(request.execution, request.node_id, request.attempt)
    pod = kube.read_namespaced_pod(name, namespace_for(project, "production"))
    assert pod.spec.containers[0].image == "ghcr.io/slipstream/task:0.1.0"  # the stage's default image
    assert launcher.stop_execution(project, "production", request.execution.split("/")[2]) == 1


def test_a_failed_build_is_tried_again_on_the_next_use():
    attempts = []

    def build():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the cluster endpoint is not configured yet")
        return "launcher"

    launcher = DeferredLauncher(build)
    with pytest.raises(RuntimeError, match="not configured yet"):
        _ = launcher.launcher
    assert not launcher.built
    assert launcher.launcher == "launcher" and launcher.built and len(attempts) == 2
