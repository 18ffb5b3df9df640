"""The sandbox creates its resources from the same CloudFormation template that AWS deploys."""

from pathlib import Path

from slipstream.sandbox.infra import TEMPLATE_PATH, load_template

ROOT = Path(__file__).resolve().parents[2]


def test_the_sandbox_template_is_infra_template():
    assert TEMPLATE_PATH.resolve() == (ROOT / "infra" / "template.json").resolve()
    resources = load_template()["Resources"]
    assert {r["Type"] for r in resources.values()} >= {"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue",
                                                        "AWS::SNS::Topic", "AWS::IAM::Role"}
