"""The S3 blob store: specs, closures, code bundles and literal maps. The S3 client is passed in."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.errors import NotFoundError
from chalicelib.spec.serialize import canonical_json, content_hash


class BlobStore:
    def __init__(self, s3_client: Any, bucket: str) -> None:
        self.s3 = s3_client
        self.bucket = bucket

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def put_json(self, key: str, obj: Any) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=canonical_json(obj), ContentType="application/json")
        return key

    def get_json(self, key: str) -> Any:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey as exc:
            raise NotFoundError(f"blob [{self.uri(key)}] does not exist") from exc
        return json.loads(body)

    def get_text(self, key: str) -> str:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode(errors="replace")
        except self.s3.exceptions.NoSuchKey as exc:
            raise NotFoundError(f"blob [{self.uri(key)}] does not exist") from exc

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
