"""Immutable blobs are read from S3 once per store: a watched execution's inputs are polled many times, a
workflow's spec and closure read for every run of it."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.errors import NotFoundError
from chalicelib.services import aws_client
from chalicelib.store.blobs import BlobStore
from tests.integration.dispatch.join_harness import Counted

pytestmark = pytest.mark.integration


@pytest.fixture()
def counted_blobs(sandbox):
    counted = Counted()
    s3 = counted.watch(aws_client(sandbox.settings, "s3"))
    return BlobStore(s3, sandbox.settings.data_bucket, cache_bytes=1000), counted


def test_an_immutable_blob_is_read_once_and_each_reader_gets_its_own_copy(counted_blobs):
    blobs, counted = counted_blobs
    key = blobs.put_json(f"tests/{uuid.uuid4().hex}/inputs.json", {"a": [1, 2]})
    first = blobs.get_immutable_json(key)
    first["a"].append(3)
    assert blobs.get_immutable_json(key) == {"a": [1, 2]}
    assert counted.calls["GetObject"] == 1


def test_the_cache_keeps_to_its_byte_budget_and_never_holds_a_large_blob(counted_blobs):
    blobs, counted = counted_blobs
    small = [blobs.put_json(f"tests/{uuid.uuid4().hex}.json", "x" * 100) for _ in range(12)]  # 102 bytes each
    large = blobs.put_json(f"tests/{uuid.uuid4().hex}.json", "y" * 300)
    for key in [*small, large, large]:
        blobs.get_immutable_json(key)
    assert counted.calls["GetObject"] == 14  # the large one (over a quarter of the budget) is read each time
    counted.reset()
    for key in small[-9:]:  # 9 × 102 bytes fit in 1,000; the first three were dropped
        blobs.get_immutable_json(key)
    assert counted.calls["GetObject"] == 0
    blobs.get_immutable_json(small[0])
    assert counted.calls["GetObject"] == 1


def test_a_missing_blob_is_not_found_and_not_remembered(counted_blobs):
    blobs, counted = counted_blobs
    key = f"tests/{uuid.uuid4().hex}/outputs.json"
    with pytest.raises(NotFoundError, match=key):
        blobs.get_immutable_json(key)
    blobs.put_json(key, {"o0": 1})
    assert blobs.get_immutable_json(key) == {"o0": 1}
