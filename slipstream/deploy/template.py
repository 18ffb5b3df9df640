"""The one CloudFormation template a stage deploys, assembled from three parts (pure: no AWS, no files):

    chalice package      the functions, the REST API and the dependency layer, as SAM resources, with the
                         logical ids, handlers, routes and event sources Chalice derives from app.py
    infra/template.json  tables, data bucket, queues, topics, the event bus, the states role, the dead-letter alarm:
                         everything stateful, and the one definition the sandbox creates too
    the overlay (here)   what ties them into one stack: every function's environment as references to the
                         stack's own resources, a least-privilege role and a log group per function, the SQS
                         event source reporting per-item failures, the status rule narrowed to this stack's
                         state machines, EKS access entries, the task roles' permissions boundary (the API
                         makes a role per project-domain within it), code locations in the artifacts bucket,
                         outputs

Every name derives from the stack name (`${AWS::StackName}`), so two stages never collide, and the
template is the same for every stage: what differs (cluster, image) are parameters. `slipstream deploy`
uploads the artifacts, then hands exactly this template to CloudFormation; `--dry-run` writes it out.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.dispatch.namespaces import CONTROL_PLANE_GROUP
from chalicelib.errors import UserError
from slipstream.deploy import policies
from slipstream.deploy.policies import HAS_CLUSTER, sub

LOG_RETENTION_DAYS = 30
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
STACK_NAME = re.compile(r"[a-z][a-z0-9-]*")
# Bucket names are the longest derived names and hold at most 63 characters.
ARTIFACTS_BUCKET = "{stack}-artifacts-{account}-{region}"
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12
INTRINSICS = frozenset({"Ref", "Fn::Base64", "Fn::Cidr", "Fn::FindInMap", "Fn::GetAtt", "Fn::GetAZs",
                        "Fn::If", "Fn::ImportValue", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub",
                        "Fn::Transform", "Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or", "Fn::Length",
                        "Fn::ToJsonString"})


@dataclass(frozen=True)
class Function:
    """One of the Chalice app's functions, as `chalice package` names it, and what the overlay gives it."""

    logical_id: str  # Chalice's
    kind: str  # api | dispatch | status | reconcile: its policy (slipstream.deploy.policies)
    name: str  # the function is `<stack>-<name>`
    talks_to_cluster: bool

    @property
    def role(self) -> str:
        return f"{self.logical_id}Role"

    @property
    def log_group(self) -> str:
        return f"{self.logical_id}LogGroup"


FUNCTIONS = (
    Function("APIHandler", "api", "api", True),  # creates namespaces, deletes pods on terminate
    Function("Dispatch", "dispatch", "dispatch", True),
    Function("ExecutionStatusChanged", "status", "status", False),
    Function("ReconcilePods", "reconcile", "reconcile", True),
    Function("ScheduleHandler", "schedules", "schedules", False),  # EventBridge Scheduler → executions
)

# Settings.from_env reads SLIPSTREAM_<FIELD>: every function gets the same references.
ENVIRONMENT: dict[str, Any] = {
    "SLIPSTREAM_PROJECTS_TABLE": {"Ref": "ProjectsTable"},
    "SLIPSTREAM_ENTITIES_TABLE": {"Ref": "EntitiesTable"},
    "SLIPSTREAM_EXECUTIONS_TABLE": {"Ref": "ExecutionsTable"},
    "SLIPSTREAM_NODE_EXECUTIONS_TABLE": {"Ref": "NodeExecutionsTable"},
    "SLIPSTREAM_TASK_CACHE_TABLE": {"Ref": "TaskCacheTable"},
    "SLIPSTREAM_DATA_BUCKET": {"Ref": "DataBucket"},
    "SLIPSTREAM_DISPATCH_QUEUE_URL": {"Ref": "DispatchQueue"},
    "SLIPSTREAM_EVENTS_TOPIC_ARN": {"Ref": "EventsTopic"},
    "SLIPSTREAM_EVENTS_BUS_NAME": {"Ref": "EventBus"},  # phase change events (chalicelib.events)
    "SLIPSTREAM_STATES_ROLE_ARN": {"Fn::GetAtt": ["StatesRole", "Arn"]},
    "SLIPSTREAM_NAME_PREFIX": {"Ref": "AWS::StackName"},
    "SLIPSTREAM_DEFAULT_IMAGE": {"Ref": "DefaultImage"},
    "SLIPSTREAM_EKS_CLUSTER_NAME": {"Ref": "EksClusterName"},
    # the API makes each project-domain's task role within this boundary, trusted through the OIDC provider
    "SLIPSTREAM_TASK_ROLE_BOUNDARY_ARN": {"Fn::If": [policies.HAS_TASK_IDENTITY, {"Ref": policies.TASK_BOUNDARY}, ""]},
    "SLIPSTREAM_EKS_OIDC_PROVIDER_ARN": {"Ref": "EksOidcProviderArn"},
    "SLIPSTREAM_EKS_OIDC_ISSUER": {"Ref": "EksOidcIssuer"},
    # launch plan schedules invoke `<stack>-schedules` with this role (chalicelib.schedules)
    "SLIPSTREAM_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": [policies.SCHEDULER_ROLE, "Arn"]},
}


@dataclass(frozen=True)
class Artifact:
    """A file `chalice package` wrote, stored in the artifacts bucket under its content hash."""

    filename: str  # as the SAM template names it: ./deployment.zip, ./layer-deployment.zip
    sha256: str

    @property
    def key(self) -> str:
        return f"{self.sha256}.zip"


def stack_name_for(stage: str) -> str:
    return f"slipstream-{stage}"


def artifacts_bucket(stack: str, account: str, region: str) -> str:
    """Where a stack's code is uploaded before CloudFormation reads it; the template derives the same name."""
    return ARTIFACTS_BUCKET.format(stack=stack, account=account, region=region)


def check_stack_name(stack: str, region: str) -> str:
    """The stack name, or a UserError saying why AWS would refuse a name derived from it."""
    if not STACK_NAME.fullmatch(stack) or stack.endswith("-") or "--" in stack:
        raise UserError(f"stack name [{stack}] must be lowercase letters, digits and single hyphens, starting with a "
                        "letter (S3 bucket names derive from it); choose another --stage")
    longest = len(artifacts_bucket(stack, "0" * ACCOUNT_ID_LENGTH, region))
    if longest > BUCKET_NAME_MAX:
        room = len(stack) - (longest - BUCKET_NAME_MAX)
        raise UserError(f"stack name [{stack}] is too long for bucket names in [{region}]: use at most {room} "
                        "characters (a shorter --stage)")
    return stack


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS


def deep_merge(base: Any, overlay: Any) -> Any:
    """`overlay` over `base`: mappings merge key by key, anything else is replaced; a None value deletes.
    An intrinsic function ({"Ref": …}, {"Fn::…": …}) is a value, replaced whole, never merged."""
    if not (isinstance(base, dict) and isinstance(overlay, dict)) or _is_intrinsic(overlay) or _is_intrinsic(base):
        return copy.deepcopy(overlay)
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(base.get(key), value)
    return merged


def _code_location(artifacts: dict[str, Artifact], filename: str) -> dict[str, Any]:
    if filename not in artifacts:
        raise ValueError(f"chalice package names [{filename}] but no artifact of that name was packaged")
    bucket = ARTIFACTS_BUCKET.format(stack="${AWS::StackName}", account="${AWS::AccountId}", region="${AWS::Region}")
    return {"Bucket": sub(bucket), "Key": artifacts[filename].key}


def _function_overlay(function: Function, sam_function: dict[str, Any], tables: list[str],
                      artifacts: dict[str, Artifact]) -> dict[str, Any]:
    """The overlay of one function, its role and its log group."""
    props = sam_function["Properties"]
    function_name = f"${{AWS::StackName}}-{function.name}"
    overlay: dict[str, Any] = {
        function.logical_id: {
            "DependsOn": [function.log_group],  # so the group outlives the function: no log group left behind
            "Properties": {
                "FunctionName": sub(function_name),
                "CodeUri": _code_location(artifacts, props["CodeUri"]),
                "Role": {"Fn::GetAtt": [function.role, "Arn"]},
                "Environment": {"Variables": dict(ENVIRONMENT)},
            },
        },
        function.role: policies.lambda_role(policies.function_statements(function.kind, tables, function.log_group)),
        function.log_group: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",  # logs go with the stack; the data that matters is retained elsewhere
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": sub(f"/aws/lambda/{function_name}"),
                           "RetentionInDays": LOG_RETENTION_DAYS},
        },
    }
    if function.talks_to_cluster:
        overlay[f"{function.logical_id}ClusterAccess"] = {
            "Type": "AWS::EKS::AccessEntry",
            "Condition": HAS_CLUSTER,
            "Properties": {"ClusterName": {"Ref": "EksClusterName"},
                           "PrincipalArn": {"Fn::GetAtt": [function.role, "Arn"]},
                           "KubernetesGroups": [CONTROL_PLANE_GROUP], "Type": "STANDARD"},
        }
    return overlay


def _event_overlay(sam: dict[str, Any]) -> dict[str, Any]:
    """The dispatch queue's event source reports per-item failures (else one failed message redelivers the whole
    batch); the status rule sees only this stack's state machines (else every stage handles every execution)."""
    overlay: dict[str, Any] = {}
    for name, resource in sam["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] == "SQS":
                change = {"Queue": {"Fn::GetAtt": ["DispatchQueue", "Arn"]},
                          "FunctionResponseTypes": ["ReportBatchItemFailures"]}
            elif event["Type"] == "CloudWatchEvent" and event["Properties"]["Pattern"].get("source") == ["aws.states"]:
                prefix = policies.stack_arn("states", "stateMachine:${AWS::StackName}_")
                change = {"Pattern": {"detail": {"stateMachineArn": [{"prefix": prefix}]}}}
            else:
                continue
            events = overlay.setdefault(name, {"Properties": {"Events": {}}})["Properties"]["Events"]
            events[event_name] = {"Properties": change}
    return overlay


def _outputs(sam: dict[str, Any]) -> dict[str, Any]:
    outputs: dict[str, Any] = {name: None for name in sam.get("Outputs", {})}  # Chalice's, replaced
    outputs["ApiUrl"] = {"Description": "The control plane's HTTP API (IAM-authorized: SigV4)",
                         "Value": sam["Outputs"]["EndpointURL"]["Value"]}
    for function in FUNCTIONS:
        outputs[f"{function.role}Arn"] = {"Value": {"Fn::GetAtt": [function.role, "Arn"]}}
    outputs[f"{policies.TASK_BOUNDARY}Arn"] = {"Condition": policies.HAS_TASK_IDENTITY,
                                               "Value": {"Ref": policies.TASK_BOUNDARY}}
    return outputs


def overlay_for(sam: dict[str, Any], infra: dict[str, Any], artifacts: dict[str, Artifact]) -> dict[str, Any]:
    """The overlay that turns `chalice package`'s SAM template plus infra/template.json into one stack."""
    functions = {name for name, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    known = {f.logical_id for f in FUNCTIONS}
    if functions != known:
        raise ValueError(f"chalice package made functions {sorted(functions)}, slipstream.deploy.template knows "
                         f"{sorted(known)}: give each new function a Function entry (its policy, its name)")
    tables = sorted(name for name, r in infra["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table")
    resources: dict[str, Any] = {}
    for function in FUNCTIONS:
        resources.update(_function_overlay(function, sam["Resources"][function.logical_id], tables, artifacts))
    resources = deep_merge(resources, _event_overlay(sam))
    resources[policies.TASK_BOUNDARY] = policies.task_boundary()
    resources[policies.SCHEDULER_ROLE] = policies.scheduler_role()
    layer = sam["Resources"]["ManagedLayer"]["Properties"]
    resources["ManagedLayer"] = {"Properties": {
        "LayerName": sub("${AWS::StackName}-dependencies"),
        "ContentUri": _code_location(artifacts, layer["ContentUri"]),
        "RetentionPolicy": "Delete",  # SAM's default keeps every old layer version after updates and deletion
    }}
    resources["RestAPI"] = {"Properties": {"DefinitionBody": {"info": {"title": sub("${AWS::StackName}")}}}}
    return {
        "Description": "slipstream control plane: API, dispatcher, status handler and pod reconciler (Chalice), "
                       "with the tables, bucket, queues, topics and roles of infra/template.json",
        "Conditions": {HAS_CLUSTER: {"Fn::Not": [{"Fn::Equals": [{"Ref": "EksClusterName"}, ""]}]}},
        "Resources": resources,
        "Outputs": _outputs(sam),
    }


def assemble(sam: dict[str, Any], infra: dict[str, Any], artifacts: dict[str, Artifact]) -> dict[str, Any]:
    """The stage's template: Chalice's resources and infra's side by side, then the overlay over both."""
    clash = sorted(set(sam["Resources"]) & set(infra["Resources"]))
    if clash:
        raise ValueError(f"infra/template.json and chalice package both define {clash}; rename them in infra")
    if sam.get("Transform") != SAM_TRANSFORM:
        raise ValueError(f"chalice package's template has Transform [{sam.get('Transform')}], expected a SAM one")
    merged: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM_TRANSFORM,
        "Parameters": copy.deepcopy(infra.get("Parameters", {})),
        "Conditions": copy.deepcopy(infra.get("Conditions", {})),
        "Resources": {**copy.deepcopy(sam["Resources"]), **copy.deepcopy(infra["Resources"])},
        "Outputs": {**copy.deepcopy(sam.get("Outputs", {})), **copy.deepcopy(infra.get("Outputs", {}))},
    }
    return deep_merge(merged, overlay_for(sam, infra, artifacts))


def retained_names(template: dict[str, Any], stack: str, account: str, region: str) -> dict[str, list[str]]:
    """Names of the resources a deleted stack leaves behind (DeletionPolicy Retain), by type: a new stack of
    the same name cannot create them again while they exist."""
    values = {"${AWS::StackName}": stack, "${AWS::AccountId}": account, "${AWS::Region}": region}
    name_property = {"AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName"}
    found: dict[str, list[str]] = {}
    for resource in template["Resources"].values():
        prop = name_property.get(resource["Type"])
        if resource.get("DeletionPolicy") != "Retain" or prop is None:
            continue
        name = resource["Properties"][prop]
        name = name["Fn::Sub"] if isinstance(name, dict) else name
        for placeholder, value in values.items():
            name = name.replace(placeholder, value)
        found.setdefault(resource["Type"], []).append(name)
    return found
