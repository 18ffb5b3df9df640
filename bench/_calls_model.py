"""The pure model of bench/calls.py: calls per task node → the ceiling in task nodes per second and the quota
that binds first; → $ per million task nodes by service. Figures: us-east-1 defaults, cited in bench/README.md.

Keys are `<endpoint prefix>:<Operation>` as botocore names them, plus `states:transition` for state
transitions. DynamoDB request units are approximated by calls (items ≤ 1 KB written, ≤ 4 KB read, strongly
consistent); a TransactWriteItems call costs two units per item, counted here as two.
"""

from __future__ import annotations

from collections.abc import Mapping

# Sustained rates (token bucket refill per second) of the quotas a task node draws on.
QUOTAS: dict[str, tuple[float, tuple[str, ...]]] = {
    "Step Functions state transitions (5,000/s)": (5000, ("states:transition",)),
    "SendTaskSuccess (500/s)": (500, ("states:SendTaskSuccess",)),
    "SendTaskFailure (500/s)": (500, ("states:SendTaskFailure",)),
    "SendTaskHeartbeat (500/s)": (500, ("states:SendTaskHeartbeat",)),
    "StartExecution (300/s)": (300, ("states:StartExecution",)),
    "DescribeExecution (15/s)": (15, ("states:DescribeExecution",)),
    "GetExecutionHistory (20/s)": (20, ("states:GetExecutionHistory",)),
    "DynamoDB on-demand table writes (40,000 WRU/s)": (40000, ("dynamodb:PutItem", "dynamodb:UpdateItem",
                                                               "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                                                               "dynamodb:TransactWriteItems")),
    "DynamoDB on-demand table reads (40,000 RRU/s)": (40000, ("dynamodb:GetItem", "dynamodb:Query",
                                                              "dynamodb:BatchGetItem", "dynamodb:Scan")),
    "EventBridge PutEvents (10,000/s)": (10000, ("events:PutEvents",)),
}
SFN_TRANSITION = 0.025 / 1000
SQS_REQUEST = 0.40 / 1e6
DDB_WRITE_UNIT = 0.625 / 1e6
DDB_READ_UNIT = 0.125 / 1e6
S3_PUT = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_GET = 0.0004 / 1000  # GET and all other requests
SNS_PUBLISH = 0.50 / 1e6
EVENTS_PUT = 1.00 / 1e6
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND = 0.0000166667
# Assumed, not measured: one Lambda invocation per message the dispatcher consumes, 100 ms at 512 MB.
LAMBDA_GB_SECONDS_PER_INVOCATION = 0.1 * 0.5
_S3_PUTS = ("PutObject", "CopyObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload", "UploadPart",
            "CompleteMultipartUpload")
_DDB_WEIGHT = {"TransactWriteItems": 2, "TransactGetItems": 2}
_DDB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def ceiling(per_node: Mapping[str, float]) -> tuple[float, str]:
    """(task nodes per second, the quota that binds first) for calls per task node; inf if nothing binds."""
    best, binding = float("inf"), "none"
    for name, (rate, keys) in QUOTAS.items():
        used = sum(per_node.get(key, 0.0) for key in keys)
        if used > 0 and rate / used < best:
            best, binding = rate / used, name
    return best, binding


def _dynamodb(operation: str, calls: float) -> float:
    units = calls * _DDB_WEIGHT.get(operation, 1)
    return units * (DDB_WRITE_UNIT if operation in _DDB_WRITES else DDB_READ_UNIT)


def cost_per_million(per_node: Mapping[str, float]) -> dict[str, float]:
    """$ per million task nodes by service, from calls per task node (Step Functions' own API calls are free;
    its transitions are what it charges)."""
    dollars = {"stepfunctions": 0.0, "sqs": 0.0, "dynamodb": 0.0, "s3": 0.0, "sns": 0.0, "events": 0.0}
    for key, calls in per_node.items():
        service, operation = key.split(":", 1)
        if key == "states:transition":
            dollars["stepfunctions"] += calls * SFN_TRANSITION
        elif service == "sqs":
            dollars["sqs"] += calls * SQS_REQUEST
        elif service == "dynamodb":
            dollars["dynamodb"] += _dynamodb(operation, calls)
        elif service == "s3":
            dollars["s3"] += calls * (S3_PUT if operation in _S3_PUTS else S3_GET)
        elif service == "sns":
            dollars["sns"] += calls * SNS_PUBLISH
        elif service == "events":
            dollars["events"] += calls * EVENTS_PUT
    invocations = per_node.get("sqs:SendMessage", 0.0)
    # Lambda's event source mapping receives and deletes each message (the sandbox's worker threads that play
    # it are not counted): at most one ReceiveMessage and one DeleteMessageBatch per message.
    dollars["sqs"] += 2 * invocations * SQS_REQUEST
    dollars["lambda (modelled)"] = invocations * (LAMBDA_REQUEST + LAMBDA_GB_SECONDS_PER_INVOCATION * LAMBDA_GB_SECOND)
    dollars = {k: v * 1e6 for k, v in dollars.items()}
    dollars["total"] = sum(dollars.values())
    return dollars
