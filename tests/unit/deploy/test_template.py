"""The pure template assembly of `slipstream deploy`: merging, names, and what it refuses."""

from __future__ import annotations

import copy

import pytest

from chalicelib.errors import UserError
from slipstream.deploy.template import (
    FUNCTIONS,
    Artifact,
    artifacts_bucket,
    assemble,
    check_stack_name,
    deep_merge,
    retained_names,
    stack_name_for,
)
from slipstream.sandbox.infra import load_template

CODE = Artifact("./deployment.zip", "a" * 64)
LAYER = Artifact("./layer-deployment.zip", "b" * 64)
ARTIFACTS = {a.filename: a for a in (CODE, LAYER)}


def sam_function(events: dict | None = None) -> dict:
    return {"Type": "AWS::Serverless::Function",
            "Properties": {"Handler": "app.x", "CodeUri": "./deployment.zip", "Role": "arn:placeholder",
                           "Events": events or {}}}


def chalice_like() -> dict:
    """The shape `chalice package` gives this app: five functions, a layer, an API, a permission."""
    resources = {
        "APIHandler": sam_function(),
        "Dispatch": sam_function({"DispatchSqsEventSource": {"Type": "SQS", "Properties": {
            "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:slipstream-dispatch"},
            "BatchSize": 10}}}),
        "ExecutionStatusChanged": sam_function({"ExecutionStatusChangedEvent": {"Type": "CloudWatchEvent",
            "Properties": {"Pattern": {"source": ["aws.states"], "detail-type": ["Step Functions Execution "
                                                                                   "Status Change"]}}}}),
        "ReconcilePods": sam_function({"ReconcilePodsEvent": {"Type": "Schedule",
                                                              "Properties": {"Schedule": "rate(1 minute)"}}}),
        "ScheduleHandler": sam_function(),
        "ManagedLayer": {"Type": "AWS::Serverless::LayerVersion",
                         "Properties": {"ContentUri": "./layer-deployment.zip", "LayerName": "slipstream-dev-layer"}},
        "RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {"DefinitionBody": {"info": {"title": "x"}}}},
    }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31",
            "Resources": resources,
            "Outputs": {"EndpointURL": {"Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}."
                                                             "${AWS::URLSuffix}/api/"}}}}


def test_deep_merge_merges_mappings_replaces_values_and_deletes_on_none():
    base = {"a": {"b": 1, "c": [1, 2], "d": {"Fn::Sub": "x"}}, "e": 1}
    overlay = {"a": {"c": [3], "d": {"Fn::GetAtt": ["Q", "Arn"]}, "f": 2}, "e": None}
    before = copy.deepcopy(base)
    assert deep_merge(base, overlay) == {"a": {"b": 1, "c": [3], "d": {"Fn::GetAtt": ["Q", "Arn"]}, "f": 2}}
    assert base == before  # inputs are not changed


def test_an_intrinsic_is_replaced_whole_never_merged_key_by_key():
    assert deep_merge({"Queue": {"Fn::Sub": "arn:…"}}, {"Queue": {"Ref": "Q"}}) == {"Queue": {"Ref": "Q"}}


def test_stack_names_derive_from_the_stage_and_fit_bucket_names():
    assert stack_name_for("dev") == "slipstream-dev"
    assert check_stack_name("slipstream-dev", "us-east-1") == "slipstream-dev"
    for bad in ("Slipstream-dev", "slipstream_dev", "slipstream--dev", "slipstream-", "1slipstream"):
        with pytest.raises(UserError, match=r"lowercase letters, digits and single hyphens"):
            check_stack_name(bad, "us-east-1")
    longest = "s" * (63 - len("-artifacts-123456789012-ap-southeast-2"))
    too_long = rf"too long for bucket names in \[ap-southeast-2\]: use at most {len(longest)} "
    assert check_stack_name(longest, "ap-southeast-2") == longest
    with pytest.raises(UserError, match=too_long):
        check_stack_name(longest + "s", "ap-southeast-2")


def test_the_artifacts_bucket_the_deployer_makes_is_the_one_the_template_reads():
    template = assemble(chalice_like(), load_template(), ARTIFACTS)
    bucket = template["Resources"]["Dispatch"]["Properties"]["CodeUri"]["Bucket"]["Fn::Sub"]
    resolved = bucket.replace("${AWS::StackName}", "slipstream-dev").replace("${AWS::AccountId}", "123456789012")
    assert resolved.replace("${AWS::Region}", "eu-west-1") == artifacts_bucket("slipstream-dev", "123456789012",
                                                                              "eu-west-1")
    assert template["Resources"]["ManagedLayer"]["Properties"]["ContentUri"]["Key"] == LAYER.key


def test_assembly_wires_events_and_drops_chalices_names():
    template = assemble(chalice_like(), load_template(), ARTIFACTS)
    dispatch = template["Resources"]["Dispatch"]["Properties"]["Events"]["DispatchSqsEventSource"]["Properties"]
    assert dispatch == {"Queue": {"Fn::GetAtt": ["DispatchQueue", "Arn"]}, "BatchSize": 10,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    assert template["Resources"]["ManagedLayer"]["Properties"]["LayerName"] == {
        "Fn::Sub": "${AWS::StackName}-dependencies"}
    assert "EndpointURL" not in template["Outputs"] and "ApiUrl" in template["Outputs"]
    assert {f.role for f in FUNCTIONS} <= set(template["Resources"])


def test_a_function_the_overlay_does_not_know_is_refused():
    sam = chalice_like()
    sam["Resources"]["NewHandler"] = sam_function()
    with pytest.raises(ValueError, match=r"give each new function a Function entry"):
        assemble(sam, load_template(), ARTIFACTS)


def test_infra_and_chalice_may_not_define_the_same_resource():
    sam = chalice_like()
    sam["Resources"]["DataBucket"] = {"Type": "AWS::S3::Bucket", "Properties": {}}
    with pytest.raises(ValueError, match=r"both define \['DataBucket'\]"):
        assemble(sam, load_template(), ARTIFACTS)


def test_retained_names_are_the_tables_and_the_data_bucket():
    names = retained_names(load_template(), "slipstream-dev", "123456789012", "us-east-1")
    assert sorted(names["AWS::DynamoDB::Table"]) == sorted(
        f"slipstream-dev-{t}" for t in ("projects", "entities", "executions", "node-executions", "task-cache"))
    assert names["AWS::S3::Bucket"] == ["slipstream-dev-data-123456789012-us-east-1"]
