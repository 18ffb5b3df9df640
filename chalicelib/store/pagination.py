"""Opaque page tokens: DynamoDB's LastEvaluatedKey, base64-encoded JSON. Clients pass them back as is."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalicelib.errors import ValidationError

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def decode_token(token: str | None, partition: str, keys: set[str], partition_key: str = "pk") -> dict[str, Any] | None:
    """The LastEvaluatedKey in `token`, if it is one of this listing's (its `partition_key` is `partition`
    and it has exactly `keys`, all strings); ValidationError otherwise, never a DynamoDB error."""
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        key = None
    valid = (isinstance(key, dict) and set(key) == keys
             and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values()))
    if not valid:
        raise ValidationError(f"token [{token[:40]}] is not a valid page token; pass the token of a previous page")
    if key[partition_key]["S"] != partition:  # type: ignore[index]
        raise ValidationError(f"token [{token[:40]}] belongs to another listing; start again without a token")
    return key


def parse_limit(raw: Any) -> int:
    if raw is None:  # `?limit=` (empty) is refused below: the API documents an integer
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit [{raw}] must be a whole number from 1 to {MAX_LIMIT}")
    return limit
