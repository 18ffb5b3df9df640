"""The task roles' documents, pure: each project-domain's policy reaches its own S3 prefixes and nothing of
another tenant's, its trust names its own service account only, and everything it allows lies within the
stack's permissions boundary. Policies are judged by a small evaluator of the IAM features they use
(Allow statements, `*` and `?` wildcards in actions and resources, StringEquals / StringLike conditions)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.dispatch.namespaces import service_account_for
from chalicelib.dispatch.task_roles import (
    RESERVED_PROJECTS,
    role_path,
    task_policy,
    task_role_name,
    trust_policy,
)
from chalicelib.spec.identifiers import DOMAIN_PATTERN, PROJECT_PATTERN
from slipstream.deploy.policies import task_boundary

BUCKET = "slipstream-prod-data-123456789012-eu-west-1"
ARN = f"arn:aws:s3:::{BUCKET}"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str) -> bool:
    """IAM's wildcards: `*` any run of characters ('/' included), `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            value = context.get(key)
            if value is None:
                return False
            if operator == "StringEquals" and value not in _listed(wanted):
                return False
            if operator == "StringLike" and not any(_glob(w, value) for w in _listed(wanted)):
                return False
            if operator not in ("StringEquals", "StringLike"):
                raise AssertionError(f"the evaluator does not know [{operator}]")
    return True


def allows(document: dict[str, Any], action: str, resource: str, **context: str) -> bool:
    """Whether an identity policy of Allow statements allows `action` on `resource` in `context`."""
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        if not any(_glob(a, action) for a in _listed(statement["Action"])):
            continue
        if not any(_glob(r, resource) for r in _listed(statement["Resource"])):
            continue
        if _conditions_hold(statement.get("Condition") or {}, context):
            return True
    return False


def resolve(value: Any) -> Any:
    """The boundary's intrinsics for one stack, as CloudFormation resolves them."""
    if isinstance(value, dict):
        if list(value) == ["Fn::Sub"]:
            return value["Fn::Sub"].replace("${DataBucket.Arn}", ARN).replace("${AWS::StackName}", "slipstream-prod")
        if list(value) == ["Fn::GetAtt"]:
            assert value["Fn::GetAtt"] == ["DataBucket", "Arn"]
            return ARN
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def obj(key: str) -> str:
    return f"{ARN}/{key}"


POLICY = task_policy("aws", BUCKET, "ml", "development")
DIGEST = "a" * 64


@pytest.mark.parametrize("action, key", [
    ("s3:GetObject", f"bundles/ml/development/{DIGEST}.tar.gz"),
    ("s3:GetObject", f"uploads/ml/development/{DIGEST}/lines.txt"),
    ("s3:GetObject", "ml/development/x1/n0/0/inputs.json"),
    ("s3:GetObject", "ml/development/x1/n0/outputs.json"),  # an upstream node's outputs
    ("s3:PutObject", "ml/development/x1/n0/0/outputs.json"),
    ("s3:PutObject", "ml/development/x1/n0/0/blobs/ab12/part-0.txt"),
    ("s3:AbortMultipartUpload", "ml/development/x1/n0/0/blobs/ab12/big.bin"),
])
def test_a_task_reaches_its_own_project_domain(action, key):
    assert allows(POLICY, action, obj(key))


@pytest.mark.parametrize("action, key", [
    ("s3:GetObject", "ml/production/x1/n0/0/inputs.json"),  # another domain of the same project
    ("s3:PutObject", "ml/production/x1/n0/0/outputs.json"),
    ("s3:GetObject", f"bundles/ml/production/{DIGEST}.tar.gz"),
    ("s3:GetObject", f"bundles/ml-x/development/{DIGEST}.tar.gz"),  # a project whose name starts the same
    ("s3:GetObject", "ml-x/development/x1/n0/0/inputs.json"),
    ("s3:GetObject", "ml/developmentx/x1/n0/0/inputs.json"),
    ("s3:GetObject", "other/development/x1/n0/0/inputs.json"),
    ("s3:PutObject", f"bundles/ml/development/{DIGEST}.tar.gz"),  # its own code is read-only to it
    ("s3:PutObject", f"uploads/ml/development/{DIGEST}/lines.txt"),
    ("s3:GetObject", f"specs/{DIGEST}.json"),  # the control plane's own keys
    ("s3:GetObject", f"plans/{DIGEST}.json"),
    ("s3:DeleteObject", "ml/development/x1/n0/0/outputs.json"),
    ("s3:GetObject", "arn:aws:s3:::another-bucket/ml/development/x"),
])
def test_a_task_reaches_nothing_of_another_tenant_nor_the_control_plane(action, key):
    assert not allows(POLICY, action, key if key.startswith("arn:") else obj(key))


def test_listing_is_allowed_under_its_own_prefix_only():
    assert allows(POLICY, "s3:ListBucket", ARN, **{"s3:prefix": "ml/development/x1/n0/0/blobs/ab12/"})
    for prefix in ("ml/production/", "ml/", "", "bundles/ml/development/", "ml/developmentx/"):
        assert not allows(POLICY, "s3:ListBucket", ARN, **{"s3:prefix": prefix}), prefix
    assert not allows(POLICY, "s3:ListBucket", ARN)  # no prefix: the whole bucket


def test_tokens_are_answered_and_nothing_else_of_step_functions():
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"):
        assert allows(POLICY, action, "*")
    for action in ("states:StartExecution", "states:StopExecution", "iam:PassRole", "sts:AssumeRole"):
        assert not allows(POLICY, action, "*")


def test_everything_a_task_role_allows_lies_within_the_stacks_boundary():
    boundary = resolve(task_boundary()["Properties"]["PolicyDocument"])
    for statement in POLICY["Statement"]:
        for action in _listed(statement["Action"]):
            for resource in _listed(statement["Resource"]):
                concrete = resource.replace("*", "key")
                assert allows(boundary, action, concrete, **{"s3:prefix": "ml/development/x"}), (action, resource)
    assert not allows(boundary, "s3:GetObject", "arn:aws:s3:::another-bucket/x")
    assert not allows(boundary, "s3:DeleteObject", obj("ml/development/x"))
    assert not allows(boundary, "iam:CreateRole", "*")


def test_the_trust_names_the_project_domains_service_account_and_sts_only():
    trust = trust_policy(PROVIDER, ISSUER, "ml", "development")
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        f"{ISSUER}:aud": "sts.amazonaws.com",
        f"{ISSUER}:sub": f"system:serviceaccount:ml-development:{service_account_for('development')}"}}
    other = trust_policy(PROVIDER, ISSUER, "ml", "production")["Statement"][0]["Condition"]
    assert other != statement["Condition"]


@pytest.mark.parametrize("stack", ["slipstream", "slipstream-a-stage-name-as-long-as-they-get"])
def test_role_names_are_valid_unique_and_readable(stack):
    longest = ("p" * 40, "d" * 20)
    for project, domain in (("ml", "development"), longest, ("a-b", "c"), ("a", "b-c")):
        assert PROJECT_PATTERN.fullmatch(project) and DOMAIN_PATTERN.fullmatch(domain)
        name = task_role_name(stack, project, domain)
        assert re.fullmatch(r"[A-Za-z0-9+=,.@_-]{1,64}", name), name
        assert name.startswith(f"{stack}-task-"[:55])
    assert task_role_name(stack, "a-b", "c") != task_role_name(stack, "a", "b-c")  # same namespace, two roles
    assert task_role_name(stack, "ml", "development") != task_role_name("other", "ml", "development")
    assert task_role_name(stack, "ml", "development") == task_role_name(stack, "ml", "development")
    assert role_path(stack) == f"/{stack}/tasks/"


@pytest.mark.parametrize("project", sorted(RESERVED_PROJECTS))
def test_a_project_named_like_a_shared_prefix_gets_no_policy(project):
    """Project "bundles", domain "ml" would reach bundles/ml/* — every bundle of project "ml"."""
    with pytest.raises(ValueError, match=rf"project \[{project}\] is named like the data bucket's prefix"):
        task_policy("aws", BUCKET, project, "ml")
