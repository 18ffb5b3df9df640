"""The S3 blob store: specs, closures, code bundles and literal maps. The S3 client is passed in."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from chalicelib.errors import NotFoundError
from chalicelib.spec.serialize import canonical_json, content_hash

IMMUTABLE_CACHE_BYTES = 16 * 1024 * 1024


class _BytesLru:
    """Bodies by key, least recently used dropped first once they hold more than `budget` bytes together.
    Thread-safe: the sandbox serves requests from many threads with one store."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.budget // 4:
            return
        with self._lock:
            if key in self._bodies:
                return
            self._bodies[key] = body
            self._size += len(body)
            while self._size > self.budget:
                self._size -= len(self._bodies.popitem(last=False)[1])


class BlobStore:
    def __init__(self, s3_client: Any, bucket: str, cache_bytes: int = IMMUTABLE_CACHE_BYTES) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self._immutable = _BytesLru(cache_bytes)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_json(self, key: str, obj: Any) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=canonical_json(obj), ContentType="application/json")
        return key

    def _body(self, key: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
        except self.s3.exceptions.NoSuchKey as exc:
            raise NotFoundError(f"blob [{self.uri(key)}] does not exist") from exc

    def get_json(self, key: str) -> Any:
        return json.loads(self._body(key))

    def get_immutable_json(self, key: str) -> Any:
        """`get_json` for an object written once and never replaced — an execution's inputs, its outputs once
        it ended, a content-addressed spec or closure. Kept in memory (within a byte budget), so a warm
        Lambda answering the polls of a watched execution, or starting runs of one workflow, reads S3 once
        per object. Each call parses afresh: callers may change what they get."""
        body = self._immutable.get(key)
        if body is None:
            body = self._body(key)
            self._immutable.put(key, body)
        return json.loads(body)

    def get_text(self, key: str) -> str:
        return self._body(key).decode(errors="replace")

    def copy(self, source: str, target: str) -> None:
        self.s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})

    def put_content_addressed(self, prefix: str, obj: Any) -> tuple[str, str]:
        """Store `obj` under its own hash; returns (key, digest). The same content is stored once."""
        digest = content_hash(obj)
        return self.put_json(f"{prefix}/{digest}.json", obj), digest

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def presigned_put(self, key: str, expires: int = 900) -> str:
        return self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires, HttpMethod="PUT")
