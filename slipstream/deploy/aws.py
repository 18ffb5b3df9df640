"""The AWS side of `slipstream deploy` and `slipstream teardown`: every call, with the boto3 clients passed in.

    1. artifacts bucket  `<stack>-artifacts-<account>-<region>`, made here on first deploy (not by the stack:
                         the code must be in S3 before CloudFormation can create the functions). Private,
                         TLS-only, encrypted; keys are content hashes, so an unchanged zip is not uploaded again
                         and an old template's artifacts stay readable for a rollback.
    2. upload            the code and layer zips, then the template itself (templates over 51,200 bytes must be
                         given to CloudFormation by URL) — what `aws cloudformation package` does
    3. change set        CREATE or UPDATE with CAPABILITY_IAM, CAPABILITY_NAMED_IAM and CAPABILITY_AUTO_EXPAND
                         (the SAM transform runs in CloudFormation), executed unless it holds no change
    4. wait              polling the stack, printing its events; a failure names the resources that failed

A first create that failed leaves the stack in ROLLBACK_COMPLETE, which can only be deleted: deploy deletes it
(it holds nothing: retained resources are kept either way) and creates it again. Teardown deletes the stack,
keeps what the template retains (tables, data bucket) and removes the artifacts bucket, which only holds
what the next deploy uploads again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.errors import SlipstreamError, UserError
from slipstream.deploy.package import Packaged
from slipstream.deploy.template import artifacts_bucket, retained_names

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
# An empty change set is FAILED like a broken one; only its documented StatusReason tells them apart.
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
_FAILED = {"CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE",
           "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_FAILED", "IMPORT_ROLLBACK_COMPLETE"}
_REPLACEABLE = {"ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS"}  # a failed or never-executed first create
MAX_WAIT_SECONDS = 3600.0


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


class DeployError(SlipstreamError):
    """The stack did not reach the state asked for; the message names the resources that failed and why."""


@dataclass
class Deployer:
    """Deploys and deletes one stack. `clients` maps service names (cloudformation, s3, sts, eks, iam,
    dynamodb) to boto3 clients; `echo` receives progress lines."""

    clients: dict[str, Any]
    stack: str
    region: str
    echo: Callable[[str], None] = print
    poll_seconds: float = 5.0
    _account: str = field(default="", init=False)

    def client(self, service: str) -> Any:
        return self.clients[service]

    @property
    def account(self) -> str:
        if not self._account:
            self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account

    @property
    def artifacts_bucket(self) -> str:
        return artifacts_bucket(self.stack, self.account, self.region)

    # cluster

    def cluster_parameters(self, cluster: str) -> dict[str, str]:
        """The stack parameters of an EKS cluster: its name, OIDC issuer and the IAM OIDC provider of that
        issuer (IRSA for the task pods), which must exist."""
        try:
            found = self.client("eks").describe_cluster(name=cluster)["cluster"]
        except ClientError as exc:
            raise UserError(f"cannot describe EKS cluster [{cluster}] in [{self.region}] "
                            f"({exc.response['Error'].get('Message', exc)}); check --eks-cluster and --region") from exc
        issuer = ((found.get("identity") or {}).get("oidc") or {}).get("issuer", "").removeprefix("https://")
        if not issuer:
            raise UserError(f"EKS cluster [{cluster}] has no OIDC issuer; it needs one for the task pods' IAM role")
        providers = self.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
        provider = next((p["Arn"] for p in providers if p["Arn"].endswith(f":oidc-provider/{issuer}")), None)
        if provider is None:
            raise UserError(f"no IAM OIDC provider for the issuer of EKS cluster [{cluster}] ({issuer}); create one "
                            f"with `eksctl utils associate-iam-oidc-provider --cluster {cluster} --approve`")
        return {"EksClusterName": cluster, "EksOidcIssuer": issuer, "EksOidcProviderArn": provider}

    # artifacts

    def ensure_artifacts_bucket(self) -> str:
        """Create the artifacts bucket unless it exists; either way it ends private, encrypted and TLS-only."""
        s3, bucket = self.client("s3"), self.artifacts_bucket
        try:
            s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=self.account)
            return bucket
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                raise DeployError(f"artifacts bucket [{bucket}] exists but is not usable "
                                  f"({exc.response['Error']['Code']}); delete it or choose another --stage") from exc
        self.echo(f"creating the artifacts bucket [{bucket}]")
        location = {} if self.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": self.region}}
        s3.create_bucket(Bucket=bucket, **location)
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        arn = f"arn:{partition(self.region)}:s3:::{bucket}"
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"{arn}", f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        return bucket

    def _exists(self, bucket: str, key: str) -> bool:
        try:
            self.client("s3").head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def upload(self, packaged: Packaged) -> int:
        """Upload the zips the template names that the bucket lacks; how many were uploaded."""
        bucket, uploaded = self.ensure_artifacts_bucket(), 0
        for artifact in packaged.artifacts.values():
            if self._exists(bucket, artifact.key):
                continue
            path = packaged.path(artifact.filename)
            self.echo(f"uploading {artifact.filename.removeprefix('./')} ({path.stat().st_size / 1e6:.1f} MB)")
            self.client("s3").upload_file(str(path), bucket, artifact.key)
            uploaded += 1
        return uploaded

    def upload_template(self, template: dict[str, Any]) -> str:
        """The template's URL in the artifacts bucket."""
        body = json.dumps(template, indent=1, sort_keys=True).encode()
        key = f"templates/{hashlib.sha256(body).hexdigest()}.json"
        bucket = self.ensure_artifacts_bucket()
        if not self._exists(bucket, key):
            self.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        return f"https://{bucket}.s3.{self.region}.{suffix}/{key}"

    # the stack

    def status(self) -> str | None:
        """The stack's status, None if there is none."""
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
        except ClientError as exc:
            # CloudFormation answers a missing stack with a bare ValidationError (no code of its own); the
            # name was checked before, so that is the only ValidationError left
            if exc.response["Error"]["Code"] == "ValidationError":
                return None
            raise
        return stacks[0]["StackStatus"] if stacks else None

    def check_retained(self, template: dict[str, Any]) -> None:
        """Before a create: tables and buckets a deleted stack of this name retained would make it fail."""
        names = retained_names(template, self.stack, self.account, self.region)
        left: list[str] = []
        for table in names.get("AWS::DynamoDB::Table", []):
            try:
                self.client("dynamodb").describe_table(TableName=table)
                left.append(f"table {table}")
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
        for bucket in names.get("AWS::S3::Bucket", []):
            try:
                self.client("s3").head_bucket(Bucket=bucket)
                left.append(f"bucket {bucket}")
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                    raise
        if left:
            raise UserError(f"stack [{self.stack}] would create {', '.join(left)}, which exist: kept from an earlier "
                            "stack of this stage (its data survives teardown). Delete them if the data is no "
                            "longer needed, or deploy under another --stage")

    def create_change_set(self, template: dict[str, Any], parameters: dict[str, str]) -> tuple[str, bool]:
        """Upload the template and make a change set of it: (its id, whether it creates the stack)."""
        status = self.status()
        if status in _REPLACEABLE:
            self.echo(f"stack [{self.stack}] is {status} from an earlier attempt: deleting it before creating it")
            self._delete_and_wait()
            status = None
        elif status is not None and status.endswith("_IN_PROGRESS"):
            raise UserError(f"stack [{self.stack}] is busy ({status}); wait until it finishes, then deploy again")
        creating = status is None
        if creating:
            self.check_retained(template)
        url = self.upload_template(template)
        cfn = self.client("cloudformation")
        given: list[dict[str, Any]] = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(parameters.items())]
        if not creating:  # keep what an earlier deploy set and this one does not mention (its cluster, image)
            declared = set(template.get("Parameters", {}))
            previous = {p["ParameterKey"] for p in cfn.describe_stacks(StackName=self.stack)["Stacks"][0].get(
                "Parameters", [])}
            given += [{"ParameterKey": k, "UsePreviousValue": True}
                      for k in sorted((declared & previous) - set(parameters))]
        name = f"deploy-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}"
        self.echo(f"{'creating' if creating else 'updating'} stack [{self.stack}] with change set [{name}]")
        change_set = cfn.create_change_set(
            StackName=self.stack, ChangeSetName=name, ChangeSetType="CREATE" if creating else "UPDATE",
            TemplateURL=url, Parameters=given, Capabilities=CAPABILITIES,
            Description="slipstream deploy", Tags=[{"Key": "slipstream:stack", "Value": self.stack}])["Id"]
        return change_set, creating

    def deploy(self, template: dict[str, Any], parameters: dict[str, str]) -> dict[str, str]:
        """Create or update the stack from `template` with a change set; the stack's outputs."""
        change_set, _ = self.create_change_set(template, parameters)
        if not self._change_set_ready(change_set):
            self.echo("no changes: the stack is up to date")
            return self.outputs()
        started = dt.datetime.now(dt.UTC)
        self.client("cloudformation").execute_change_set(ChangeSetName=change_set, StackName=self.stack)
        self._wait(started, {"CREATE_COMPLETE", "UPDATE_COMPLETE"})
        return self.outputs()

    def _change_set_ready(self, change_set: str) -> bool:
        """Wait for the change set; False if it holds no change (it is then deleted)."""
        cfn = self.client("cloudformation")
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while True:
            found = cfn.describe_change_set(ChangeSetName=change_set, StackName=self.stack)
            if found["Status"] == "CREATE_COMPLETE":
                return True
            if found["Status"] == "FAILED":
                reason = found.get("StatusReason", "")
                if any(text in reason for text in _NO_CHANGES):
                    cfn.delete_change_set(ChangeSetName=change_set, StackName=self.stack)
                    return False
                raise DeployError(f"CloudFormation refused change set of stack [{self.stack}]: {reason}")
            if time.monotonic() > deadline:
                raise DeployError(f"change set of stack [{self.stack}] is still {found['Status']}; see the console")
            time.sleep(self.poll_seconds)

    def _wait(self, since: dt.datetime, success: set[str]) -> str:
        """Poll the stack until it settles, printing its new events; its final status, or DeployError naming
        the resources that failed."""
        seen: set[str] = set()
        failures: list[str] = []
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        while True:
            status = self.status() or "DELETE_COMPLETE"
            for event in self._events_since(since, seen):
                line = f"  {event['ResourceStatus']:<22} {event['LogicalResourceId']}"
                reason = event.get("ResourceStatusReason", "")
                if event["ResourceStatus"].endswith("_FAILED"):
                    failures.append(f"{event['LogicalResourceId']}: {reason}")
                self.echo(line + (f" ({reason})" if reason else ""))
            if status in success:
                return status
            if status in _FAILED or (status in _DONE and status not in success):
                detail = "; ".join(failures[:5]) or "see the stack's events"
                raise DeployError(f"stack [{self.stack}] ended {status}: {detail}")
            if time.monotonic() > deadline:
                raise DeployError(f"stack [{self.stack}] is still {status} after {MAX_WAIT_SECONDS:.0f}s; follow "
                                  "it in the CloudFormation console")
            time.sleep(self.poll_seconds)

    def _events_since(self, since: dt.datetime, seen: set[str]) -> list[dict[str, Any]]:
        try:
            events = self.client("cloudformation").describe_stack_events(StackName=self.stack)["StackEvents"]
        except ClientError:  # the stack is gone (a finished delete)
            return []
        fresh = [e for e in events if e["EventId"] not in seen and e["Timestamp"] >= since - dt.timedelta(seconds=1)]
        seen.update(e["EventId"] for e in fresh)
        return sorted(fresh, key=lambda e: e["Timestamp"])

    def outputs(self) -> dict[str, str]:
        stack = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    # teardown

    def _delete_and_wait(self) -> None:
        started = dt.datetime.now(dt.UTC)
        self.client("cloudformation").delete_stack(StackName=self.stack)
        self._wait(started, {"DELETE_COMPLETE"})

    def retained(self) -> list[str]:
        """The stack's resources its template retains on deletion, as "<type> <physical id>"."""
        cfn = self.client("cloudformation")
        body = cfn.get_template(StackName=self.stack, TemplateStage="Original")["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body
        kept = {name for name, r in template.get("Resources", {}).items() if r.get("DeletionPolicy") == "Retain"}
        paginator = cfn.get_paginator("list_stack_resources")
        return [f"{r['ResourceType']} {r['PhysicalResourceId']}"
                for page in paginator.paginate(StackName=self.stack) for r in page["StackResourceSummaries"]
                if r["LogicalResourceId"] in kept and r.get("PhysicalResourceId")]

    def teardown(self) -> list[str]:
        """Delete the stack and the artifacts bucket; what the stack retained (still there, still billed)."""
        if self.status() is None:
            raise UserError(f"there is no stack [{self.stack}] in [{self.region}]; check --stage and --region")
        kept = self.retained()
        self.echo(f"deleting stack [{self.stack}]")
        self._delete_and_wait()
        self._delete_artifacts_bucket()
        return kept

    def _delete_artifacts_bucket(self) -> None:
        s3, bucket = self.client("s3"), self.artifacts_bucket
        try:
            paginator = s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            s3.delete_bucket(Bucket=bucket)
            self.echo(f"deleted the artifacts bucket [{bucket}]")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchBucket":
                raise
