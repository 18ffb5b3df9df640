"""Wiring: the services of the control plane built from `Settings`, with their clients passed in.

A Lambda container builds this once and reuses it across invocations; the sandbox and the tests build
it for moto's endpoint and hand in their own task launcher (local processes instead of pods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import LOCAL_CREDENTIALS, Settings
from chalicelib.dispatch.deferred import DeferredLauncher
from chalicelib.dispatcher import Dispatcher
from chalicelib.events import EventBridgePublisher, Outbox
from chalicelib.executions import ExecutionService, asl_options
from chalicelib.machines import StateMachines
from chalicelib.projects import ProjectService
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
    projects: ProjectService | None = None

    @classmethod
    def build(cls, settings: Settings, session: Any = None, launcher: Any = None) -> Services:
        models = build_models(settings)
        metadata = MetadataStore(models)
        blobs = BlobStore(aws_client(settings, "s3", session), settings.data_bucket)
        registration = RegistrationService(metadata, blobs, asl_options(settings).max_task_timeout_seconds)
        sfn = aws_client(settings, "stepfunctions", session)
        machines = StateMachines(sfn, settings.states_role_arn, settings.region)
        store = ExecutionStore(models, Outbox(event_publisher(settings, session)))
        executions = ExecutionService(settings, store, metadata, blobs, registration, machines, launcher)
        dispatcher = Dispatcher(settings, store, blobs, sfn, machines, launcher, models.TaskCache,
                                aws_client(settings, "sqs", session))
        status = StatusHandler(store, blobs, sfn, aws_client(settings, "sns", session), settings.events_topic_arn,
                               registration, dispatcher)
        built = cls(settings, metadata, blobs, registration, executions, dispatcher, status, launcher,
                    ProjectService(metadata, namespace_provisioner(settings, launcher)))
        registration.activate = auto_activation(built)
        return built

    @property
    def events(self) -> Outbox:
        """The phase change events' outbox: the entry points hold a batch open around each invocation."""
        return self.executions.store.events

    def reconciler(self) -> Any:
        """The pod reconciler, when tasks run on Kubernetes (None in the sandbox, whose launcher watches its
        processes itself)."""
        core = getattr(getattr(self.launcher, "pods", None), "core", None)
        if core is None:
            return None
        from chalicelib.dispatch.reconciler import Reconciler

        return Reconciler(core, self.dispatcher.fail_token, self.dispatcher.heartbeat_token,
                          self.dispatcher.save_attempt_error, max_pending_seconds=self.settings.max_pending_seconds,
                          stack=self.settings.name_prefix)


def event_publisher(settings: Settings, session: Any = None) -> EventBridgePublisher | None:
    """The publisher to the stage's phase change bus, or None when it names none (then nothing is published)."""
    if not settings.events_bus_name:
        return None
    return EventBridgePublisher(lambda: aws_client(settings, "events", session), settings.events_bus_name)


def auto_activation(services: Services) -> Any:
    """What registration calls for a launch plan registered with `auto_activate` (the activation service,
    with its Scheduler client, is built on the first such plan)."""
    def activate(ident: Any) -> None:
        from chalicelib.schedules import activation_for

        activation_for(services).activate(ident.project, ident.domain, ident.name, ident.version)

    return activate


def kubernetes_launcher(settings: Settings, session: Any = None) -> Any:
    """The EKS launcher the stage configures (SLIPSTREAM_EKS_*), or None if it names no cluster. It is built
    (the Kubernetes client imported, a token minted) on first use: only the dispatcher and the reconciler
    need it, and the other functions' cold starts should not pay for it."""
    if not settings.eks_cluster_name:
        return None

    def build() -> Any:
        from chalicelib.dispatch.kube import KubernetesLauncher, core_v1_for_eks
        from chalicelib.dispatch.pods import PodConfig

        endpoint, ca_data = settings.eks_endpoint, settings.eks_ca_data
        if not (endpoint and ca_data):  # a deployed stack names its cluster only: ask EKS where it is
            cluster = aws_client(settings, "eks", session).describe_cluster(name=settings.eks_cluster_name)["cluster"]
            endpoint, ca_data = cluster["endpoint"], cluster["certificateAuthority"]["data"]
        core = core_v1_for_eks(aws_client(settings, "sts", session), settings.eks_cluster_name, endpoint, ca_data)
        return KubernetesLauncher(core, PodConfig(default_image=settings.default_image, region=settings.region,
                                                  data_bucket=settings.data_bucket, stack=settings.name_prefix,
                                                  extra_env={"SLIPSTREAM_HEARTBEAT_SECONDS":
                                                             str(settings.pod_heartbeat_seconds)}))

    return DeferredLauncher(build)


def namespace_provisioner(settings: Settings, launcher: Any) -> Any:
    """What builds the namespace provisioner of project creation, from the launcher's CoreV1Api: None when
    tasks do not run on Kubernetes (the sandbox's local processes), and nothing built until a project is."""
    def build() -> Any:
        core = getattr(getattr(launcher, "pods", None), "core", None)
        if core is None:
            return None
        from chalicelib.dispatch.provisioner import NamespaceProvisioner
        from chalicelib.dispatch.task_roles import TaskRoles

        roles = TaskRoles.from_settings(settings, aws_client(settings, "iam")) \
            if settings.task_role_boundary_arn else None
        return NamespaceProvisioner(core, settings.task_role_arn_pattern, settings.name_prefix, task_roles=roles,
                                    max_pods=settings.max_running_tasks)

    return None if launcher is None else build
