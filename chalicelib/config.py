"""Where the control plane's resources are: table, bucket, queue and topic names, from the environment.

On AWS the deployed stack sets these variables as references to its own resources (`slipstream deploy`,
slipstream/deploy/template.py); the sandbox sets them for its own resources, created from the same template
(`infra/template.json`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024  # the Lambda synchronous payload limit
LOCAL_CREDENTIALS = ("sandbox", "sandbox")  # what clients of moto's server sign with, never real keys


@dataclass(frozen=True)
class Settings:
    projects_table: str
    entities_table: str
    executions_table: str
    node_executions_table: str
    task_cache_table: str
    data_bucket: str
    dispatch_queue_url: str
    events_topic_arn: str
    states_role_arn: str = ""
    events_bus_name: str = ""  # the EventBridge bus of phase change events (chalicelib.events); empty: none
    region: str = "us-east-1"
    endpoint_url: str | None = None  # moto's server in tests and the sandbox; None on AWS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    heartbeat_seconds: int = 300
    timeout_slack_seconds: int = 60
    max_running_tasks: int = 0  # task slots per project-domain (its namespace's pod quota); 0: the cluster's
    max_pending_seconds: int = 1800  # a pod may wait this long for a node, an image or a GPU before it fails
    max_execution_seconds: int = 7 * 24 * 3600  # the bound of every wait in a state machine, and of the whole
    gather_timeout_seconds: int = 900
    name_prefix: str = "slipstream"  # state machines are <name_prefix>-<hash>: the deployed stage's stack name
    distributed_map_threshold: int = 1000  # items above which a map reads them from S3 (Distributed Map)
    max_nodes_per_machine: int = 250  # nodes above which a workflow is split into child executions
    default_image: str = "ghcr.io/slipstream/task:latest"
    eks_cluster_name: str = ""
    eks_endpoint: str = ""
    eks_ca_data: str = ""
    # The task IAM role of each project-domain, annotated on its service account for IRSA; may use {project},
    # {domain} and {stack} (name_prefix). Empty: no annotation, and pods have only what their node's role allows.
    task_role_arn_pattern: str = ""
    # Set by a deployed stack with a cluster: the control plane makes each project-domain's task role itself
    # (chalicelib.dispatch.task_roles), bounded by this policy and trusted through the cluster's OIDC provider.
    # It wins over task_role_arn_pattern, which names roles made outside slipstream.
    task_role_boundary_arn: str = ""
    eks_oidc_provider_arn: str = ""
    eks_oidc_issuer: str = ""
    # The role EventBridge Scheduler assumes to invoke the schedule handler `<name_prefix>-schedules`, in the
    # role's account (chalicelib.schedules). Empty in the sandbox, whose moto never invokes it.
    scheduler_role_arn: str = ""

    @property
    def pod_heartbeat_seconds(self) -> int:
        """How often a running task (or the control plane, for a pending pod) heartbeats its token: three
        times per heartbeat window, so one lost call does not fail the task. Heartbeats share the account's
        500/s Step Functions answer bucket with every node's answers: a fixed 20 s against a 300 s window
        spent five times as many."""
        return max(1, self.heartbeat_seconds // 3)

    @classmethod
    def for_stack(cls, stack: str, *, region: str = "us-east-1", account: str = "123456789012",
                  endpoint_url: str | None = None) -> Settings:
        """The names `infra/template.json` gives a stack's resources."""
        queue_host = endpoint_url or f"https://sqs.{region}.amazonaws.com"
        return cls(
            projects_table=f"{stack}-projects",
            entities_table=f"{stack}-entities",
            executions_table=f"{stack}-executions",
            node_executions_table=f"{stack}-node-executions",
            task_cache_table=f"{stack}-task-cache",
            data_bucket=f"{stack}-data-{account}-{region}",
            dispatch_queue_url=f"{queue_host}/{account}/{stack}-dispatch",
            events_topic_arn=f"arn:aws:sns:{region}:{account}:{stack}-events",
            events_bus_name=f"{stack}-events",
            states_role_arn=f"arn:aws:iam::{account}:role/{stack}-states",
            name_prefix=stack,
            region=region,
            endpoint_url=endpoint_url,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values = {}
        for name, field in cls.__dataclass_fields__.items():
            key = f"SLIPSTREAM_{name.upper()}"
            if key in env:
                values[name] = int(env[key]) if field.type == "int" else env[key]
            elif field.default is field.default_factory:  # dataclasses.MISSING on both: required
                raise RuntimeError(f"environment variable [{key}] is not set; the Chalice stage must set it")
        values.setdefault("region", env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")
        return cls(**values)
