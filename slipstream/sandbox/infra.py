"""Create the resources of `infra/template.json` on moto's server: the same tables, bucket, queues, topics
and event bus that CloudFormation creates on AWS, from the one definition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# A link to infra/template.json (one source of truth) that wheels carry as a file, so an installed
# sandbox does not need the repository.
TEMPLATE_PATH = Path(__file__).with_name("template.json")
# moto's services check no permissions, enforce no bucket policy and raise no alarms
_NOT_IN_THE_SANDBOX = ("AWS::IAM::Role", "AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm")
_TABLE_KEYS = ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes",
               "LocalSecondaryIndexes")


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return json.loads(path.read_text())


class _Resolver:
    """Resolves the few intrinsic functions the template uses: Fn::Sub over pseudo parameters, Fn::GetAtt Arn."""

    def __init__(self, stack: str, region: str, account: str) -> None:
        self.params = {"AWS::StackName": stack, "AWS::Region": region, "AWS::AccountId": account}
        self.arns: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            if "Fn::Sub" in value:
                text = value["Fn::Sub"]
                for name, replacement in self.params.items():
                    text = text.replace("${" + name + "}", replacement)
                return text
            if "Fn::GetAtt" in value:
                return self.arns[value["Fn::GetAtt"][0]]
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def create_resources(clients: dict[str, Any], stack: str, region: str, account: str = "123456789012",
                     template: dict[str, Any] | None = None) -> None:
    """Create every resource of the template with `clients` ("dynamodb", "s3", "sqs", "sns", "events")."""
    template = template or load_template()
    resolve = _Resolver(stack, region, account)
    for logical, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind in _NOT_IN_THE_SANDBOX:
            continue
        props = resolve(resource.get("Properties", {}))
        if kind == "AWS::DynamoDB::Table":
            clients["dynamodb"].create_table(**{k: v for k, v in props.items() if k in _TABLE_KEYS})
        elif kind == "AWS::S3::Bucket":
            clients["s3"].create_bucket(Bucket=props["BucketName"])
        elif kind == "AWS::SQS::Queue":
            attributes = {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in props.items()
                          if k in ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")}
            url = clients["sqs"].create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
            arn = clients["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            resolve.arns[logical] = arn["Attributes"]["QueueArn"]
        elif kind == "AWS::SNS::Topic":
            clients["sns"].create_topic(Name=props["TopicName"])
        elif kind == "AWS::Events::EventBus":
            clients["events"].create_event_bus(Name=props["Name"])
        else:
            raise ValueError(f"the sandbox cannot create [{logical}] of type [{kind}]; teach slipstream.sandbox.infra")
