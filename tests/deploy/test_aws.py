"""The AWS side of deploy and teardown against moto's server.

How far moto goes, measured (moto 5.2.5):
- It stores and describes change sets of the real template, but has no SAM transform: executing one fails
  inside moto (AWS::Lambda::Permission refers to a SAM function moto skipped). So the real template is taken
  up to its change set, and the stack lifecycle (execute, wait, outputs, no-op update, parameter update,
  teardown with retained data, re-create refused) runs on infra/template.json — the plain-CloudFormation
  part of the same stack, which moto creates (tables, bucket, queues, topics, roles).
- It evaluates bucket policies without the request's context, so the artifacts bucket's TLS-only deny
  (`aws:SecureTransport` false) refuses every object call, TLS or not. The bootstrap is checked on a bucket
  of its own; the other stacks find their artifacts bucket made beforehand without that policy, as a
  second deploy finds an existing one.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from typing import Any

import boto3
import pytest

from chalicelib.config import Settings
from chalicelib.errors import UserError
from chalicelib.services import kubernetes_launcher
from slipstream.deploy.aws import CAPABILITIES, Deployer
from slipstream.deploy.template import artifacts_bucket, assemble
from slipstream.sandbox.infra import load_template
from tests.deploy.conftest import REGION, run_cli

# moto skips the bucket policy and the alarm, saying so (see the module docstring)
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.* not supported by moto:UserWarning")
SERVICES = ("cloudformation", "s3", "sts", "eks", "iam", "dynamodb", "sqs")
ACCOUNT = "123456789012"  # moto's


@functools.cache
def _session() -> boto3.session.Session:
    """One session for the module: a new one reads every service model again (4 s of the file's time)."""
    return boto3.session.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=REGION)


def clients(endpoint: str) -> dict[str, Any]:
    return {name: _session().client(name, endpoint_url=endpoint) for name in SERVICES}


def deployer(endpoint: str, stack: str, lines: list[str] | None = None, *, bootstrapped: bool = True) -> Deployer:
    """A Deployer of `stack` on moto; `bootstrapped`: its artifacts bucket exists (see the module docstring)."""
    echo = lines.append if lines is not None else (lambda line: None)
    aws = Deployer(clients(endpoint), stack, REGION, echo=echo, poll_seconds=0.05)
    if bootstrapped:
        aws.client("s3").create_bucket(Bucket=artifacts_bucket(stack, ACCOUNT, REGION))
    return aws


def test_the_artifacts_bucket_is_private_encrypted_and_tls_only(moto_endpoint):
    aws = deployer(moto_endpoint, "slipstream-boot", bootstrapped=False)
    bucket = aws.ensure_artifacts_bucket()
    assert bucket == f"slipstream-boot-artifacts-{ACCOUNT}-{REGION}"
    s3 = aws.client("s3")
    assert set(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values()) == {True}
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (deny,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert aws.ensure_artifacts_bucket() == bucket  # a second deploy finds it


def test_upload_stores_each_zip_once_where_the_template_reads_it(moto_endpoint, packaged):
    aws = deployer(moto_endpoint, "slipstream-upload")
    template = assemble(packaged.sam, load_template(), packaged.artifacts)
    assert aws.upload(packaged) == 2
    assert aws.upload(packaged) == 0  # content-addressed: nothing changed, nothing sent
    s3 = aws.client("s3")
    code = template["Resources"]["Dispatch"]["Properties"]["CodeUri"]
    layer = template["Resources"]["ManagedLayer"]["Properties"]["ContentUri"]
    for location, filename in ((code, "./deployment.zip"), (layer, "./layer-deployment.zip")):
        stored = s3.head_object(Bucket=aws.artifacts_bucket, Key=location["Key"])
        assert stored["ContentLength"] == packaged.path(filename).stat().st_size
    body = s3.get_object(Bucket=aws.artifacts_bucket, Key=code["Key"])["Body"].read()
    assert f"{hashlib.sha256(body).hexdigest()}.zip" == code["Key"]


def test_the_real_template_becomes_a_create_change_set(moto_endpoint, packaged, dry_run):
    aws = deployer(moto_endpoint, "slipstream-real")
    template = assemble(packaged.sam, load_template(), packaged.artifacts)
    aws.upload(packaged)
    change_set, creating = aws.create_change_set(template, {"DefaultImage": "example.com/task:1"})
    assert creating
    cfn = aws.client("cloudformation")
    described = cfn.describe_change_set(ChangeSetName=change_set, StackName="slipstream-real")
    assert described["Status"] == "CREATE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]} == {
        "DefaultImage": "example.com/task:1"}
    s3 = aws.client("s3")
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=aws.artifacts_bucket, Prefix="templates/")["Contents"]]
    given = json.loads(s3.get_object(Bucket=aws.artifacts_bucket, Key=key)["Body"].read())
    assert given == template == dry_run["template"]  # the dry run wrote exactly what deploy hands CloudFormation
    assert aws.status() == "REVIEW_IN_PROGRESS"
    assert set(CAPABILITIES) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}


def test_a_stack_left_in_review_is_replaced(moto_endpoint):
    """A first change set never executed (or a create rolled back) leaves a stack that can only be deleted."""
    lines: list[str] = []
    aws = deployer(moto_endpoint, "slipstream-review", lines)
    aws.create_change_set(load_template(), {})
    assert aws.status() == "REVIEW_IN_PROGRESS"
    aws.deploy(load_template(), {})
    assert aws.status() == "CREATE_COMPLETE"
    assert any("REVIEW_IN_PROGRESS from an earlier attempt" in line for line in lines)


def test_stack_lifecycle_keeps_the_data_and_refuses_to_shadow_it(moto_endpoint):
    lines: list[str] = []
    stack = "slipstream-life"
    aws = deployer(moto_endpoint, stack, lines)
    infra = load_template()

    # every parameter given: moto compares a no-op update's parameters with the create's literally
    first = {"DefaultImage": "example.com/task:1", "EksClusterName": "", "EksOidcProviderArn": "", "EksOidcIssuer": ""}
    outputs = aws.deploy(infra, first)
    assert aws.status() == "CREATE_COMPLETE"
    summaries = aws.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}
    assert physical["DataBucket"] == f"{stack}-data-{ACCOUNT}-{REGION}"
    assert physical["ProjectsTable"] == f"{stack}-projects"
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=physical["DispatchQueue"], AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 5
    assert any("CREATE_COMPLETE" in line and stack in line for line in lines)  # the stack's events were shown

    lines.clear()
    assert aws.deploy(infra, {}) == outputs
    assert "no changes: the stack is up to date" in lines

    aws.deploy(infra, {"EksClusterName": "tasks"})  # DefaultImage not given: the earlier value stays
    parameters = {p["ParameterKey"]: p["ParameterValue"]
                  for p in aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]}
    assert parameters["DefaultImage"] == "example.com/task:1"
    assert parameters["EksClusterName"] == "tasks"

    kept = aws.teardown()
    assert aws.status() is None
    assert sorted(kept) == sorted([f"AWS::DynamoDB::Table {stack}-{t}" for t in
                                   ("projects", "entities", "executions", "node-executions", "task-cache")]
                                  + [f"AWS::S3::Bucket {stack}-data-{ACCOUNT}-{REGION}"])
    tables = aws.client("dynamodb").list_tables()["TableNames"]
    assert f"{stack}-projects" in tables
    buckets = {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}
    assert f"{stack}-data-{ACCOUNT}-{REGION}" in buckets
    assert aws.artifacts_bucket not in buckets

    with pytest.raises(UserError, match=rf"table {stack}-projects.*exist.*another --stage"):
        aws.deploy(infra, {})


def test_cluster_parameters_come_from_the_cluster_and_its_oidc_provider(moto_endpoint):
    aws = deployer(moto_endpoint, "slipstream-eks")
    eks, iam = aws.client("eks"), aws.client("iam")
    eks.create_cluster(name="tasks", roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
                       resourcesVpcConfig={"subnetIds": ["subnet-1"]})
    with pytest.raises(UserError, match=r"no IAM OIDC provider .*eksctl utils associate-iam-oidc-provider"):
        aws.cluster_parameters("tasks")
    issuer = eks.describe_cluster(name="tasks")["cluster"]["identity"]["oidc"]["issuer"]
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"],
                                                   ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    assert aws.cluster_parameters("tasks") == {"EksClusterName": "tasks", "EksOidcProviderArn": provider,
                                               "EksOidcIssuer": issuer.removeprefix("https://")}
    with pytest.raises(UserError, match=r"cannot describe EKS cluster \[missing\]"):
        aws.cluster_parameters("missing")


def test_functions_find_the_cluster_their_stack_names(moto_endpoint):
    """The stack gives the functions the cluster's name only; they read its endpoint and CA from EKS."""
    eks = clients(moto_endpoint)["eks"]
    cluster = eks.create_cluster(name="runs-tasks", roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
                                 resourcesVpcConfig={"subnetIds": ["subnet-1"]})["cluster"]
    settings = dataclasses.replace(Settings.for_stack("slipstream-k", endpoint_url=moto_endpoint),
                                   eks_cluster_name="runs-tasks")
    core = kubernetes_launcher(settings).launcher.pods.core
    assert core.api_client.configuration.host.rstrip("/") == cluster["endpoint"].rstrip("/")


def cli_env(endpoint: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox", "AWS_DEFAULT_REGION": REGION}


def test_teardown_of_a_missing_stack_is_a_one_line_error(moto_endpoint, tmp_path):
    done = run_cli(tmp_path, "teardown", "--stage", "nothere", "--yes", env=cli_env(moto_endpoint))
    assert done.returncode == 2
    assert done.stderr.strip() == ("Error: there is no stack [slipstream-nothere] in [us-east-1]; check --stage "
                                   "and --region")


def test_teardown_through_the_cli_lists_what_it_kept(moto_endpoint, tmp_path):
    aws = deployer(moto_endpoint, "slipstream-gone")
    aws.deploy(load_template(), {})
    done = run_cli(tmp_path, "teardown", "--stage", "gone", "--yes", env=cli_env(moto_endpoint))
    assert done.returncode == 0, done.stderr
    assert "deleted stack [slipstream-gone]" in done.stdout
    assert "AWS::DynamoDB::Table slipstream-gone-projects" in done.stdout
    assert "kept, with their data" in done.stdout
    assert aws.status() is None


def test_deploy_names_a_missing_cluster_before_touching_the_stack(moto_endpoint, tmp_path):
    done = run_cli(tmp_path, "deploy", "--stage", "nocluster", "--region", REGION, "--eks-cluster", "absent",
                   env=cli_env(moto_endpoint))
    assert done.returncode == 2, done.stderr
    assert "cannot describe EKS cluster [absent]" in done.stderr
    assert deployer(moto_endpoint, "slipstream-nocluster").status() is None
