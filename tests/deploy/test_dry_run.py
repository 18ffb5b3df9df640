"""`slipstream deploy --dry-run`: the one template a stage deploys, checked by cfn-lint and for what the control
plane relies on (per-item SQS failures, a status rule of its own, data kept on deletion, least privilege)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from chalicelib.config import Settings
from chalicelib.dispatch.namespaces import CONTROL_PLANE_GROUP
from slipstream.deploy.template import ENVIRONMENT, FUNCTIONS

SAM_FUNCTION = "AWS::Serverless::Function"


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key, f"{path}/{key}#key")
            yield from strings(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}/{index}")
    elif isinstance(value, str):
        yield path, value


def statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    found = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            found.append(statement)
    return found


@pytest.fixture(scope="module")
def template(dry_run: dict[str, Any]) -> dict[str, Any]:
    return dry_run["template"]


def test_cfn_lint_finds_no_error_and_no_warning(dry_run):
    from cfnlint.api import ManualArgs, lint_file

    # Every rule runs (informational ones too); none is ignored.
    matches = lint_file(dry_run["dir"] / "template.json", ManualArgs(regions=["us-east-1"], include_checks=["I"]))
    assert [f"{m.rule.id} {m.message} ({m.linenumber})" for m in matches] == []


def test_the_dispatch_queue_reports_per_item_failures(template):
    sqs_events = [event for function in resources_of(template, SAM_FUNCTION).values()
                  for event in function["Properties"].get("Events", {}).values() if event["Type"] == "SQS"]
    assert len(sqs_events) == 1
    properties = sqs_events[0]["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["Queue"] == {"Fn::GetAtt": ["DispatchQueue", "Arn"]}


def test_the_status_rule_matches_only_this_stacks_state_machines(template):
    event = template["Resources"]["ExecutionStatusChanged"]["Properties"]["Events"]["ExecutionStatusChangedEvent"]
    pattern = event["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail"]["stateMachineArn"] == [{"prefix": {"Fn::Sub": (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}_")}}]


def test_tables_and_bucket_are_retained_and_tables_recoverable(template):
    tables = resources_of(template, "AWS::DynamoDB::Table")
    assert len(tables) == 5
    for name, table in [*tables.items(), ("DataBucket", template["Resources"]["DataBucket"])]:
        assert (table.get("DeletionPolicy"), table.get("UpdateReplacePolicy")) == ("Retain", "Retain"), name
    for name, table in tables.items():
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST", name


def test_the_data_bucket_is_versioned_private_encrypted_and_tls_only(template):
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True)
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    (policy,) = resources_of(template, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "DataBucket"}
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": ["DataBucket", "Arn"]} in deny["Resource"]


def test_dead_letters_raise_an_alarm_on_the_alarms_topic(template):
    (alarm,) = resources_of(template, "AWS::CloudWatch::Alarm").values()
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert props["Dimensions"] == [{"Name": "QueueName",
                                    "Value": {"Fn::GetAtt": ["DispatchDeadLetterQueue", "QueueName"]}}]
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}]
    assert template["Resources"]["AlarmsTopic"]["Type"] == "AWS::SNS::Topic"
    redrive = template["Resources"]["DispatchQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DispatchDeadLetterQueue", "Arn"]}


def test_queues_are_encrypted(template):
    queues = resources_of(template, "AWS::SQS::Queue")
    assert len(queues) == 2
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())


def test_names_derive_from_the_stack(template):
    """No resource is named for "slipstream" itself: only Kubernetes identities (the control plane's group,
    the task service accounts `slipstream-<domain>`) carry the word."""
    kubernetes = (CONTROL_PLANE_GROUP,)
    offending = [(path, text) for path, text in strings(template)
                 if re.search(r"slipstream-", text) and not any(k in text for k in kubernetes)]
    assert offending == []
    names = [template["Resources"][name]["Properties"][prop] for name, prop in (
        ("ProjectsTable", "TableName"), ("DataBucket", "BucketName"), ("DispatchQueue", "QueueName"),
        ("EventsTopic", "TopicName"), ("StatesRole", "RoleName"), ("Dispatch", "FunctionName"),
        ("ManagedLayer", "LayerName"))]
    assert all(name["Fn::Sub"].startswith("${AWS::StackName}-") for name in names), names


def test_function_environments_are_references_to_the_stack(template):
    required = {f"SLIPSTREAM_{name.upper()}" for name, field in Settings.__dataclass_fields__.items()
                if field.default is field.default_factory}
    fields = {f"SLIPSTREAM_{name.upper()}" for name in Settings.__dataclass_fields__}
    functions = resources_of(template, SAM_FUNCTION)
    assert set(functions) == {f.logical_id for f in FUNCTIONS}
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables == ENVIRONMENT, name
        assert required <= set(variables) <= fields, name
        for key, value in variables.items():
            assert isinstance(value, dict) and list(value) in (["Ref"], ["Fn::GetAtt"], ["Fn::If"]), key
        assert variables["SLIPSTREAM_NAME_PREFIX"] == {"Ref": "AWS::StackName"}
        assert variables["SLIPSTREAM_EKS_CLUSTER_NAME"] == {"Ref": "EksClusterName"}
        assert variables["SLIPSTREAM_TASK_ROLE_BOUNDARY_ARN"] == {"Fn::If": ["HasTaskIdentity",
                                                                         {"Ref": "TaskBoundary"}, ""]}
        assert variables["SLIPSTREAM_EKS_OIDC_PROVIDER_ARN"] == {"Ref": "EksOidcProviderArn"}
        assert variables["SLIPSTREAM_EKS_OIDC_ISSUER"] == {"Ref": "EksOidcIssuer"}


def test_code_is_read_from_the_stacks_artifacts_bucket(template):
    bucket = {"Fn::Sub": "${AWS::StackName}-artifacts-${AWS::AccountId}-${AWS::Region}"}
    layer = template["Resources"]["ManagedLayer"]["Properties"]["ContentUri"]
    locations = [layer] + [f["Properties"]["CodeUri"] for f in resources_of(template, SAM_FUNCTION).values()]
    for location in locations:
        assert location["Bucket"] == bucket
        assert re.fullmatch(r"[0-9a-f]{64}\.zip", location["Key"])
    assert len({location["Key"] for location in locations}) == 2  # one app zip, one layer zip


def test_every_function_has_its_own_least_privilege_role(template):
    roles = {function.logical_id: template["Resources"][function.logical_id]["Properties"]["Role"]
             for function in FUNCTIONS}
    assert sorted(r["Fn::GetAtt"][0] for r in roles.values()) == sorted(f.role for f in FUNCTIONS)
    for function in FUNCTIONS:
        for statement in statements(template, function.role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(action.endswith("*") for action in actions), (function.role, actions)
            if statement["Resource"] == "*":  # Step Functions authorises task tokens, not resources
                assert all(action.startswith("states:SendTask") for action in actions), (function.role, statement)
            if "iam:PassRole" in actions:  # each role only to its own service
                service = {"StatesRole": "states", "SchedulerRole": "scheduler"}[statement["Resource"]["Fn::GetAtt"][0]]
                assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": f"{service}.amazonaws.com"}}
    api = {a for s in statements(template, "APIHandlerRole") for a in s["Action"]}
    assert {"states:CreateStateMachine", "states:StartExecution", "states:StopExecution", "iam:PassRole",
            "eks:DescribeCluster"} <= api
    assert not {a for a in api if a.startswith(("sqs:", "sns:", "states:SendTask"))}
    reconciler = {a for s in statements(template, "ReconcilePodsRole") for a in s["Action"]}
    assert not {a for a in reconciler if a.startswith(("dynamodb:", "states:Create", "states:Start"))}


def test_state_machine_permissions_name_the_stacks_own_machines(template):
    expected = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
                           "${AWS::StackName}_*"}
    for role in ("APIHandlerRole", "DispatchRole"):
        creating = [s for s in statements(template, role) if "states:CreateStateMachine" in s["Action"]]
        assert [s["Resource"] for s in creating] == [expected], role
    states_role = json.dumps(template["Resources"]["StatesRole"])
    assert "stateMachine:${AWS::StackName}_*" in states_role


def test_the_api_makes_task_roles_only_under_the_stacks_path_and_only_bounded(template):
    """Tenants are walled: one task role per project-domain, made by the API (chalicelib.dispatch.task_roles)
    within the stack's boundary; the API cannot make or widen any other role."""
    from chalicelib.dispatch.task_roles import role_path

    path = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role" + role_path("${AWS::StackName}") + "*"}
    iam = [s for s in statements(template, "APIHandlerRole") if any(a.startswith("iam:") for a in s["Action"])]
    by_sid = {s["Sid"]: s for s in iam if s["Sid"] not in ("PassStatesRole", "PassSchedulerRole")}
    assert set(by_sid) == {"TaskRolesBounded", "TaskRoles"}
    bounded = by_sid["TaskRolesBounded"]
    assert set(bounded["Action"]) == {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"}
    assert bounded["Resource"] == path
    assert bounded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": {"Ref": "TaskBoundary"}}}
    assert set(by_sid["TaskRoles"]["Action"]) == {"iam:GetRole", "iam:GetRolePolicy", "iam:UpdateAssumeRolePolicy",
                                                  "iam:TagRole"}
    assert by_sid["TaskRoles"]["Resource"] == path
    for role in ("DispatchRole", "ExecutionStatusChangedRole", "ReconcilePodsRole", "ScheduleHandlerRole"):
        assert not [a for s in statements(template, role) for a in s["Action"] if a.startswith("iam:Create")], role
    # the boundary: the data bucket and task tokens, kept when the stack goes (it still bounds the roles)
    boundary = template["Resources"]["TaskBoundary"]
    assert boundary["Type"] == "AWS::IAM::ManagedPolicy" and boundary["Condition"] == "HasTaskIdentity"
    assert (boundary["DeletionPolicy"], boundary["UpdateReplacePolicy"]) == ("Retain", "Retain")
    allowed = {a for s in boundary["Properties"]["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert allowed == {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListBucket",
                       "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat",
                       "secretsmanager:GetSecretValue"}  # slipstream/* secrets only (slipstream.context)
    secrets = [s for s in boundary["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "TaskSecrets"]
    assert secrets[0]["Resource"] == "arn:*:secretsmanager:*:*:secret:slipstream/*"
    assert "TaskRole" not in template["Resources"]  # no role shared by every tenant


def test_functions_that_reach_the_cluster_get_access_entries_in_its_group(template):
    entries = resources_of(template, "AWS::EKS::AccessEntry")
    principals = {e["Properties"]["PrincipalArn"]["Fn::GetAtt"][0] for e in entries.values()}
    assert principals == {"APIHandlerRole", "DispatchRole", "ReconcilePodsRole"}
    for entry in entries.values():
        assert entry["Condition"] == "HasCluster"
        assert entry["Properties"]["KubernetesGroups"] == [CONTROL_PLANE_GROUP]
        assert "AccessPolicies" not in entry["Properties"]  # RBAC in the cluster manifests grants what it needs


def test_parameters_are_what_the_stack_cannot_know(template):
    assert set(template["Parameters"]) == {"EksClusterName", "EksOidcProviderArn", "EksOidcIssuer", "DefaultImage"}


def test_outputs_name_the_api_and_the_resources(template):
    outputs = template["Outputs"]
    assert {"ApiUrl", "DataBucket", "DispatchQueueUrl", "EventsTopicArn", "AlarmsTopicArn", "StatesRoleArn",
            "TaskBoundaryArn", "APIHandlerRoleArn", "DispatchRoleArn"} <= set(outputs)
    assert "${RestAPI}.execute-api" in outputs["ApiUrl"]["Value"]["Fn::Sub"]


def test_the_cluster_manifests_bind_the_control_plane_group(dry_run):
    from kubernetes_validate import validate

    manifests = list(yaml.safe_load_all((dry_run["dir"] / "kubernetes" / "rbac.yaml").read_text()))
    assert [m["kind"] for m in manifests] == ["ClusterRole", "ClusterRoleBinding"]
    assert manifests[1]["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                         "name": CONTROL_PLANE_GROUP}]
    assert manifests[0]["metadata"]["name"] == "slipstream-ci-control-plane"
    for manifest in manifests:
        validate(manifest, "1.30", strict=True)


def test_the_dry_run_says_it_deployed_nothing(dry_run):
    assert "dry run: stack [slipstream-ci] in [us-east-1] not deployed" in dry_run["stdout"]


def test_launch_plan_schedules_invoke_only_the_schedule_handler(template):
    """The API manages the stack's own schedules and hands them the scheduler role, which may only invoke the
    schedule handler `<stack>-schedules` (chalicelib.schedules derives the same name)."""
    handler = template["Resources"]["ScheduleHandler"]["Properties"]
    assert handler["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-schedules"}
    api = {s["Sid"]: s for s in statements(template, "APIHandlerRole")}
    assert set(api["Schedules"]["Action"]) == {"scheduler:CreateSchedule", "scheduler:UpdateSchedule",
                                               "scheduler:DeleteSchedule", "scheduler:GetSchedule"}
    assert api["Schedules"]["Resource"]["Fn::Sub"].endswith(":schedule/default/${AWS::StackName}-*")
    assert api["PassSchedulerRole"]["Resource"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    role = template["Resources"]["SchedulerRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    invoke = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert [(s["Action"], s["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-schedules"))
            for s in invoke] == [(["lambda:InvokeFunction"], True)]
    creates = {a for s in statements(template, "ScheduleHandlerRole") for a in s["Action"]}
    assert {"states:StartExecution", "dynamodb:PutItem"} <= creates
    assert not {a for a in creates if a.startswith(("scheduler:", "iam:Create", "sqs:"))}
