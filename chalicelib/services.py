"""Wiring: the services of the control plane built from `Settings`, with their clients passed in.

A Lambda container builds this once and reuses it across invocations; the sandbox and the tests build
it for moto's endpoint and hand in their own task launcher (local processes instead of pods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import LOCAL_CREDENTIALS, Settings
from chalicelib.dispatch import KubernetesLauncher, PodConfig, Reconciler
from chalicelib.dispatch.kube import core_v1_for_eks
from chalicelib.dispatcher import Dispatcher
from chalicelib.executions import ExecutionService
from chalicelib.machines import StateMachines
from chalicelib.registration import RegistrationService
from chalicelib.status import StatusHandler
from chalicelib.store import BlobStore, MetadataStore, build_models
from chalicelib.store.executions import ExecutionStore


def aws_client(settings: Settings, service: str, session: Any = None) -> Any:
    import boto3
    from botocore.config import Config

    if session is None and settings.endpoint_url:
        session = boto3.session.Session(*LOCAL_CREDENTIALS)
    session = session or boto3.session.Session()
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                    max_pool_connections=32)
    return session.client(service, region_name=settings.region, endpoint_url=settings.endpoint_url, config=config)


@dataclass
class Services:
    settings: Settings
    metadata: MetadataStore
    blobs: BlobStore
    registration: RegistrationService
    executions: ExecutionService
    dispatcher: Dispatcher
    status: StatusHandler
    launcher: Any = None

    @classmethod
    def build(cls, settings: Settings, session: Any = None, launcher: Any = None) -> Services:
        models = build_models(settings)
        metadata = MetadataStore(models)
        blobs = BlobStore(aws_client(settings, "s3", session), settings.data_bucket)
        registration = RegistrationService(metadata, blobs)
        sfn = aws_client(settings, "stepfunctions", session)
        machines = StateMachines(sfn, settings.states_role_arn, settings.region)
        store = ExecutionStore(models)
        executions = ExecutionService(settings, store, metadata, blobs, registration, machines, launcher)
        dispatcher = Dispatcher(settings, store, blobs, sfn, machines, launcher, models.TaskCache)
        status = StatusHandler(store, blobs, sfn, aws_client(settings, "sns", session), settings.events_topic_arn,
                               registration, dispatcher)
        return cls(settings, metadata, blobs, registration, executions, dispatcher, status, launcher)

    def reconciler(self) -> Any:
        """The pod reconciler, when tasks run on Kubernetes (None in the sandbox, whose launcher watches its
        processes itself)."""
        core = getattr(getattr(self.launcher, "pods", None), "core", None)
        return None if core is None else Reconciler(core, self.dispatcher.fail_token)


def kubernetes_launcher(settings: Settings, session: Any = None) -> Any:
    """The EKS launcher the stage configures (SLIPSTREAM_EKS_*), or None if it names no cluster."""
    if not settings.eks_cluster_name:
        return None
    core = core_v1_for_eks(aws_client(settings, "sts", session), settings.eks_cluster_name, settings.eks_endpoint,
                           settings.eks_ca_data)
    return KubernetesLauncher(core, PodConfig(default_image=settings.default_image, region=settings.region,
                                              data_bucket=settings.data_bucket))
