"""Task roles made at project creation, over HTTP: the sandbox's app with services wired as a deployed stack
with a cluster (a Kubernetes launcher on the emulator, task roles on moto's IAM). Creating a project makes
one IAM role per domain, under the stack's path, bounded, trusted by that domain's service account only,
with the policy of its own prefixes; the service account names it; provisioning again changes nothing and
puts back what drifted. The sandbox itself makes no roles (its tests run without IAM)."""

from __future__ import annotations

import dataclasses
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

import app as chalice_app
from chalicelib.dispatch import KubernetesLauncher, PodConfig
from chalicelib.dispatch.provisioner import NamespaceProvisioner
from chalicelib.dispatch.task_roles import (
    POLICY_NAME,
    TaskRoleError,
    TaskRoles,
    role_path,
    task_policy,
    task_role_name,
    trust_policy,
)
from chalicelib.projects import ProjectService
from chalicelib.services import Services
from tests.integration.api_http import call, error_of
from tests.support.kube_emulator import core_v1, start_emulator

pytestmark = pytest.mark.integration

DOMAINS = ["development", "staging", "production"]
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    url, stop = start_emulator()
    yield url
    stop()


@pytest.fixture(scope="module")
def boundary(sandbox) -> str:
    """The stack's permissions boundary, as its TaskBoundary resource makes it (moto does not enforce it)."""
    stack = sandbox.settings.name_prefix
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": f"arn:aws:s3:::{sandbox.settings.data_bucket}/*"}]}
    return sandbox.client("iam").create_policy(PolicyName=f"boundary-{uuid.uuid4().hex[:8]}", Path=f"/{stack}/",
                                               PolicyDocument=json.dumps(document))["Policy"]["Arn"]


@pytest.fixture()
def stack_settings(sandbox, boundary) -> Any:
    return dataclasses.replace(sandbox.settings, task_role_boundary_arn=boundary, eks_oidc_provider_arn=PROVIDER,
                               eks_oidc_issuer=ISSUER)


@pytest.fixture()
def on_cluster(sandbox, emulator, stack_settings) -> Iterator[Any]:
    """Serve the app with the services of a stage that makes task roles; the sandbox's own afterwards."""
    launcher = KubernetesLauncher(core_v1(emulator), PodConfig(default_image="img:1", region=stack_settings.region,
                                                               data_bucket=stack_settings.data_bucket))
    chalice_app.use_services(Services.build(stack_settings, launcher=launcher))
    try:
        yield stack_settings
    finally:
        chalice_app.use_services(sandbox.services)


def fresh() -> str:
    return f"roles-{uuid.uuid4().hex[:10]}"


def test_creating_a_project_makes_a_bounded_role_per_domain_and_names_it_on_the_service_account(
        api, on_cluster, emulator, sandbox, boundary):
    # WHEN a project is created on a stage that makes task roles
    name = fresh()
    status, body = call(api, "POST", "/api/v1/projects", {"name": name})
    assert status == 201, body
    # THEN each domain has a role under the stack's path, with the stack's boundary, its trust and its policy
    iam, kube, stack = sandbox.client("iam"), core_v1(emulator), on_cluster.name_prefix
    for domain in DOMAINS:
        role = iam.get_role(RoleName=task_role_name(stack, name, domain))["Role"]
        assert role["Path"] == role_path(stack)
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
        assert role["AssumeRolePolicyDocument"] == trust_policy(PROVIDER, ISSUER, name, domain)
        assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == [POLICY_NAME]
        policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=POLICY_NAME)["PolicyDocument"]
        assert policy == task_policy("aws", on_cluster.data_bucket, name, domain)
        assert {t["Key"]: t["Value"] for t in role["Tags"]} == {
            "slipstream.dev/project": name, "slipstream.dev/domain": domain, "slipstream.dev/stack": stack}
        # AND the domain's service account is annotated with exactly that role
        account = kube.read_namespaced_service_account(f"slipstream-{domain}", f"{name}-{domain}")
        assert account.metadata.annotations == {"eks.amazonaws.com/role-arn": role["Arn"]}
    # AND provisioning again finds everything as it should be
    status, body = call(api, "POST", f"/api/v1/projects/{name}/provision")
    assert status == 200, body
    kinds = ("IAMRole", "Namespace", "ServiceAccount") + (("ResourceQuota",) if on_cluster.max_running_tasks else ())
    assert [(o["kind"], o["outcome"]) for o in body["objects"]] == [
        (kind, "unchanged") for _ in DOMAINS for kind in kinds]


def test_provisioning_puts_back_a_role_that_drifted(api, on_cluster, sandbox, boundary):
    name = fresh()
    assert call(api, "POST", "/api/v1/projects", {"name": name})[0] == 201
    iam, stack = sandbox.client("iam"), on_cluster.name_prefix
    role = task_role_name(stack, name, "staging")
    # someone widens the trust to every service account, drops the policy and the boundary
    loose = trust_policy(PROVIDER, ISSUER, name, "staging")
    loose["Statement"][0]["Condition"] = {"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*:*"}}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(loose))
    iam.delete_role_policy(RoleName=role, PolicyName=POLICY_NAME)
    iam.delete_role_permissions_boundary(RoleName=role)
    status, body = call(api, "POST", f"/api/v1/projects/{name}/provision")
    assert status == 200, body
    outcomes = {(o["kind"], o["namespace"]): o["outcome"] for o in body["objects"]}
    assert outcomes[("IAMRole", f"{name}-staging")] == "updated"
    assert outcomes[("IAMRole", f"{name}-development")] == "unchanged"
    found = iam.get_role(RoleName=role)["Role"]
    assert found["AssumeRolePolicyDocument"] == trust_policy(PROVIDER, ISSUER, name, "staging")
    assert found["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert iam.get_role_policy(RoleName=role, PolicyName=POLICY_NAME)["PolicyDocument"] == \
        task_policy("aws", on_cluster.data_bucket, name, "staging")


def test_a_role_of_that_name_outside_the_stacks_path_is_not_taken_over(sandbox, stack_settings):
    name = fresh()
    iam = sandbox.client("iam")
    roles = TaskRoles.from_settings(stack_settings, iam)
    taken = task_role_name(stack_settings.name_prefix, name, "development")
    iam.create_role(RoleName=taken, AssumeRolePolicyDocument=json.dumps(trust_policy(PROVIDER, ISSUER, "x", "y")))
    with pytest.raises(TaskRoleError, match=rf"IAM role \[{taken}\] exists outside the stack's path") as failure:
        roles.ensure(name, "development")
    assert failure.value.status_code == 502
    assert iam.list_role_policies(RoleName=taken)["PolicyNames"] == []  # nothing was written to it


def test_unreachable_iam_keeps_the_project_and_names_the_way_to_reapply(api, sandbox, emulator, stack_settings):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    unreachable = boto3.session.Session("sandbox", "sandbox").client(
        "iam", region_name=stack_settings.region, endpoint_url=closed,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1))
    core = core_v1(emulator)
    services = Services.build(stack_settings, launcher=KubernetesLauncher(core, PodConfig(
        default_image="img:1", region=stack_settings.region, data_bucket=stack_settings.data_bucket)))
    provisioner = NamespaceProvisioner(core, stack=stack_settings.name_prefix,
                                       task_roles=TaskRoles.from_settings(stack_settings, unreachable))
    services.projects = ProjectService(services.metadata, lambda: provisioner)
    chalice_app.use_services(services)
    try:
        name = fresh()
        error = error_of(call(api, "POST", "/api/v1/projects", {"name": name}), 503)
        assert error["code"] == "ClusterUnreachable"  # chalicelib.projects says what the project's state is
        assert error["message"].startswith(f"project [{name}] is stored, but its namespaces are not ready: "
                                           "cannot create IAM role [")
        assert "IAM is unreachable" in error["message"]
        assert f"POST /api/v1/projects/{name}/provision" in error["message"]
        assert call(api, "GET", f"/api/v1/projects/{name}")[0] == 200
        error = error_of(call(api, "POST", f"/api/v1/projects/{name}/provision"), 503)
        assert error["code"] == "TaskRoleUnreachable" and "IAM is unreachable" in error["message"]
        assert core.list_namespace(label_selector=f"slipstream.dev/project={name}").items == []  # role first
    finally:
        chalice_app.use_services(sandbox.services)


def test_the_sandbox_makes_no_roles(api, sandbox):
    """Tasks there are local processes: the sandbox's settings name no boundary, and it needs no IAM."""
    assert sandbox.settings.task_role_boundary_arn == ""
    name = fresh()
    assert call(api, "POST", "/api/v1/projects", {"name": name})[0] == 201
    roles = sandbox.client("iam").list_roles()["Roles"]
    assert not [r for r in roles if name in r["RoleName"]]
