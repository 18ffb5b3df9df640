"""bench/calls.py's pure model: calls per task node → ceiling and binding quota; → $ per million task nodes."""

from __future__ import annotations

import pytest

from bench._calls_model import ceiling, cost_per_million


def test_the_quota_with_the_least_room_per_node_binds():
    # 2 SendTaskSuccess per node use 500/s up at 250 nodes/s; 3 transitions would allow 1,666/s
    limit, binding = ceiling({"states:SendTaskSuccess": 2.0, "states:transition": 3.0, "sqs:SendMessage": 5.0})
    assert limit == pytest.approx(250.0) and binding.startswith("SendTaskSuccess")
    limit, binding = ceiling({"states:SendTaskSuccess": 0.25, "states:transition": 3.0})
    assert limit == pytest.approx(5000 / 3) and binding.startswith("Step Functions state transitions")


def test_nothing_counted_binds_nothing():
    assert ceiling({"sqs:SendMessage": 3.0}) == (float("inf"), "none")


def test_prices_per_million_task_nodes():
    dollars = cost_per_million({"states:transition": 3.0, "dynamodb:UpdateItem": 2.0, "dynamodb:GetItem": 4.0,
                                "dynamodb:TransactWriteItems": 1.0, "s3:PutObject": 1.0, "s3:GetObject": 2.0,
                                "states:SendTaskSuccess": 2.0})
    assert dollars["stepfunctions"] == pytest.approx(75.0)  # 3 × $0.025 per 1,000, × 1M; API calls are free
    assert dollars["dynamodb"] == pytest.approx(4 * 0.625 + 4 * 0.125)  # a transaction is two write units
    assert dollars["s3"] == pytest.approx(5.0 + 2 * 0.4)
    assert dollars["total"] == pytest.approx(sum(v for k, v in dollars.items() if k != "total"))
