"""The IAM role of each project-domain's task pods: made by the control plane when a project is created.

Tenants are walled: a task of `ml/development` must not read or overwrite `ml/production`'s data, nor the
code bundles another project's runs will execute. So every project-domain has a role of its own, trusted
only by its own service account, allowed only its own S3 prefixes:

    trust   the cluster's OIDC provider, for `system:serviceaccount:<project>-<domain>:slipstream-<domain>`
            (IRSA: the service account is annotated with the role, `chalicelib.dispatch.provisioner`)
    policy  read   bundles/<project>/<domain>/*  uploads/<project>/<domain>/*     (code, uploaded inputs)
            r/w    <project>/<domain>/*                                          (executions' data)
            list   the bucket, for keys under <project>/<domain>/ only           (directory inputs)
            answer task tokens: states:SendTask* authorise by token and have no resource type, so "*"
            read   Secrets Manager secrets slipstream/<project>/<domain>/*       (task secret requests)

Why a role per project-domain, made at run time, rather than one role scoped by tags (ABAC): the stack
cannot know projects in advance, and IRSA cannot pass session tags. EKS Pod Identity does tag sessions
(`kubernetes-namespace`, `kubernetes-service-account`), but the namespace `<project>-<domain>` is not the
S3 prefix `<project>/<domain>/`, S3 object actions have no condition key for the key itself, and a project
and a domain may both hold '-' (so the tag cannot be split back); Pod Identity also needs its agent add-on
and an association per namespace, which the API would create anyway. With one role per project-domain
the policy names the prefixes literally, and what the API can grant is capped twice:

- every role carries the stack's permissions boundary (`TaskBoundary`: the data bucket and task tokens),
  so even a policy document gone wrong cannot reach beyond what any task may reach;
- the API's own IAM permissions (slipstream.deploy.policies) allow CreateRole, PutRolePolicy and
  PutRolePermissionsBoundary only on roles under the stack's path `/<stack>/tasks/`, and only when the
  request names that boundary (`iam:PermissionsBoundary`), so it cannot mint an unbounded role.

Role names are unique per account, not per path: `<stack>-task-<project>-<domain>` (cut to fit 64
characters) plus a hash of the triple, since `a-b`/`c` and `a`/`b-c` would otherwise share a name.
Making a role is idempotent: create, and on EntityAlreadyExists bring trust, boundary and policy to what
they should be. A role just made may take a few seconds to become assumable (IAM is eventually
consistent); tasks follow registration, so this only matters for a run started in the same second.
The sandbox makes no roles: its tasks are local processes with the sandbox's throwaway credentials.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.dispatch.errors import ClusterError, ClusterUnreachable
from chalicelib.dispatch.namespaces import namespace_for, service_account_for
from chalicelib.errors import SlipstreamError

if TYPE_CHECKING:
    from chalicelib.config import Settings

POLICY_NAME = "task-data"
TOKEN_ACTIONS = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
# Top-level prefixes of the data bucket whose next segment is a project: a project of that name would reach
# into every other project's keys there (project "bundles", domain "ml" → bundles/ml/* = ml's bundles).
RESERVED_PROJECTS = frozenset({"bundles", "uploads"})
_MAX_ROLE_NAME = 64
_TAG_PREFIX = "slipstream.dev"


class TaskRoleError(ClusterError):
    """IAM refused to make or fix a task role. A ClusterError, as the namespaces it serves would be: the
    project is stored and `POST /api/v1/projects/{project}/provision` applies it again (502)."""

    code = "TaskRoleError"


class TaskRoleUnreachable(ClusterUnreachable):
    code = "TaskRoleUnreachable"


def role_path(stack: str) -> str:
    """The IAM path of a stack's task roles: the API's IAM permissions are scoped to it."""
    return f"/{stack}/tasks/"


def task_role_name(stack: str, project: str, domain: str) -> str:
    """A readable name, unique per (stack, project, domain), of at most 64 characters."""
    digest = hashlib.sha256(f"{stack}\0{project}\0{domain}".encode()).hexdigest()[:8]
    head = f"{stack}-task-{project}-{domain}"[: _MAX_ROLE_NAME - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def bucket_arn(partition: str, bucket: str) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def trust_policy(oidc_provider_arn: str, oidc_issuer: str, project: str, domain: str) -> dict[str, Any]:
    """Only the project-domain's service account, through the cluster's OIDC provider, for STS."""
    subject = f"system:serviceaccount:{namespace_for(project, domain)}:{service_account_for(domain)}"
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": oidc_provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{oidc_issuer}:aud": "sts.amazonaws.com", f"{oidc_issuer}:sub": subject}},
    }]}


def task_policy(partition: str, bucket: str, project: str, domain: str) -> dict[str, Any]:
    """The project-domain's own S3 prefixes and the task-token answers, nothing else (see the module)."""
    if project in RESERVED_PROJECTS:
        raise ValueError(f"project [{project}] is named like the data bucket's prefix [{project}/]: its tasks "
                         "would reach other projects' keys there; create the project under another name")
    arn = bucket_arn(partition, bucket)
    own = f"{project}/{domain}/"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadCodeAndUploads", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [f"{arn}/bundles/{own}*", f"{arn}/uploads/{own}*"]},
        {"Sid": "ExecutionData", "Effect": "Allow",
         "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], "Resource": f"{arn}/{own}*"},
        {"Sid": "ListExecutionData", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{own}*"]}}},
        {"Sid": "AnswerTaskTokens", "Effect": "Allow", "Action": list(TOKEN_ACTIONS), "Resource": "*"},
        {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": secrets_arn(partition, project, domain)},
    ]}


def secrets_arn(partition: str, project: str, domain: str) -> str:
    """The project-domain's secrets, `slipstream/<project>/<domain>/<group>` (slipstream.context). Region and
    account are left open: a role reads another account's secret only if that secret's policy allows it."""
    return f"arn:{partition}:secretsmanager:*:*:secret:slipstream/{project}/{domain}/*"


def _partition(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1].startswith("aws"):
        raise SlipstreamError(f"[{arn}] is not an ARN; fix SLIPSTREAM_TASK_ROLE_BOUNDARY_ARN in the stage")
    return parts[1]


class TaskRoles:
    """Makes each project-domain's task role exist as `trust_policy` and `task_policy` say (IAM client passed
    in). `ensure` answers the role's ARN for the service account's annotation."""

    def __init__(self, iam: Any, *, stack: str, bucket: str, boundary_arn: str, oidc_provider_arn: str,
                 oidc_issuer: str) -> None:
        missing = [name for name, value in (("SLIPSTREAM_EKS_OIDC_PROVIDER_ARN", oidc_provider_arn),
                                            ("SLIPSTREAM_EKS_OIDC_ISSUER", oidc_issuer)) if not value]
        if missing:
            raise SlipstreamError(f"task roles need the cluster's OIDC provider: set {' and '.join(missing)} "
                                  "(the stack's EksOidcProviderArn and EksOidcIssuer parameters)")
        self.iam = iam
        self.stack = stack
        self.bucket = bucket
        self.boundary_arn = boundary_arn
        self.partition = _partition(boundary_arn)
        self.oidc_provider_arn = oidc_provider_arn
        self.oidc_issuer = oidc_issuer.removeprefix("https://")

    @classmethod
    def from_settings(cls, settings: Settings, iam: Any) -> TaskRoles:
        return cls(iam, stack=settings.name_prefix, bucket=settings.data_bucket,
                   boundary_arn=settings.task_role_boundary_arn, oidc_provider_arn=settings.eks_oidc_provider_arn,
                   oidc_issuer=settings.eks_oidc_issuer)

    def ensure(self, project: str, domain: str) -> tuple[str, str, str]:
        """(role name, ARN, outcome): "created", "updated" or "unchanged". Raises TaskRoleError (IAM refused)
        or TaskRoleUnreachable (no answer)."""
        name = task_role_name(self.stack, project, domain)
        try:
            policy = task_policy(self.partition, self.bucket, project, domain)
        except ValueError as exc:
            raise TaskRoleError(f"cannot make IAM role [{name}]: {exc}") from exc
        trust = trust_policy(self.oidc_provider_arn, self.oidc_issuer, project, domain)
        action = "create"
        try:
            try:
                arn = self._create(name, trust, project, domain)
                action = "put the policy of"
                self.iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
                return name, arn, "created"
            except self.iam.exceptions.EntityAlreadyExistsException:
                action = "update"
                arn, changed = self._update(name, trust, policy)
                return name, arn, "updated" if changed else "unchanged"
        except ClientError as exc:
            raise self._refused(action, name, exc) from exc
        except BotoCoreError as exc:
            raise TaskRoleUnreachable(f"cannot {action} IAM role [{name}]: IAM is unreachable ({exc}); check the "
                                      "network path from the control plane to IAM") from exc

    def _create(self, name: str, trust: dict[str, Any], project: str, domain: str) -> str:
        tags = {"project": project, "domain": domain, "stack": self.stack}
        role = self.iam.create_role(
            RoleName=name, Path=role_path(self.stack), AssumeRolePolicyDocument=json.dumps(trust),
            PermissionsBoundary=self.boundary_arn,
            Description=f"slipstream task pods of {project}/{domain} in stack {self.stack}: their own S3 prefixes",
            Tags=[{"Key": f"{_TAG_PREFIX}/{k}", "Value": v} for k, v in tags.items()])["Role"]
        return str(role["Arn"])

    def _update(self, name: str, trust: dict[str, Any], policy: dict[str, Any]) -> tuple[str, bool]:
        """Bring an existing role's boundary, trust and policy to what they should be; (ARN, whether changed)."""
        role = self.iam.get_role(RoleName=name)["Role"]
        if role.get("Path") != role_path(self.stack):
            raise TaskRoleError(f"IAM role [{name}] exists outside the stack's path [{role_path(self.stack)}]: "
                                "slipstream did not make it; delete or rename it, then provision the project again")
        changed = False
        if (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") != self.boundary_arn:
            self.iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=self.boundary_arn)
            changed = True
        if _document(role.get("AssumeRolePolicyDocument")) != trust:
            self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            changed = True
        try:
            current = self.iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
        except self.iam.exceptions.NoSuchEntityException:
            current = None
        if _document(current) != policy:
            self.iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
            changed = True
        return str(role["Arn"]), changed

    def _refused(self, action: str, name: str, exc: Any) -> TaskRoleError:
        error = exc.response.get("Error", {})
        code = error.get("Code", "?")
        message = f"cannot {action} IAM role [{name}]: IAM answered {code}"
        if error.get("Message"):
            message += f" ({error['Message']})"
        if code in ("AccessDenied", "AccessDeniedException"):
            message += (f"; the control plane may make task roles only under [{role_path(self.stack)}] with the "
                        f"permissions boundary [{self.boundary_arn}]: check SLIPSTREAM_TASK_ROLE_BOUNDARY_ARN is "
                        "the stack's TaskBoundary")
        return TaskRoleError(message)


def _document(value: Any) -> Any:
    """A policy document as IAM returns it: boto3 decodes it to a dict; raw responses are URL-encoded JSON."""
    if isinstance(value, str):
        from urllib.parse import unquote

        return json.loads(unquote(value))
    return value
