"""HTTP helpers for the Chalice routes: JSON bodies within the size limit, and errors in one shape.

Every error the API answers is `{"error": {"code": ..., "message": ...}}` with a 4xx status for the
caller's mistakes; anything else is a bug, answered 500 with a request id to find it in the logs.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.errors import PayloadTooLargeError, SlipstreamError, ValidationError

logger = logging.getLogger("slipstream.api")

JSON_HEADERS = {"Content-Type": "application/json"}


def error_response(status: int, code: str, message: str) -> Response:
    return Response(body=json.dumps({"error": {"code": code, "message": message}}), status_code=status,
                    headers=JSON_HEADERS)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers=JSON_HEADERS)


def read_json(request: Any, max_bytes: int) -> Any:
    """The request's JSON body; 413 over `max_bytes`, 400 if it is not JSON."""
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLargeError(f"request body is {len(raw)} bytes, over the limit of {max_bytes}; "
                                   "send fewer specs per request")
    if not raw.strip():
        raise ValidationError("request body is empty; send a JSON document")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, absurd nesting or numbers
        raise ValidationError(f"request body is not valid JSON: {str(exc)[:200]}") from None
    try:  # json accepts escaped lone surrogates ("\ud800"), which no store can encode
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"request body holds a string that is not valid Unicode (a lone surrogate at "
                              f"character {exc.start} of it); send UTF-8 text") from None
    return body


def handles_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn project errors into their 4xx answer, and anything unexpected into a logged 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = view(*args, **kwargs)
        except SlipstreamError as exc:
            return error_response(exc.status_code, exc.code, str(exc))
        except Exception:
            request_id = uuid.uuid4().hex
            logger.exception("unhandled error, request %s", request_id)
            return error_response(500, "InternalError", f"internal error (request {request_id}); this is a bug")
        return result if isinstance(result, Response) else json_response(result)

    return wrapper


def query_param(request: Any, name: str) -> str | None:
    """`?name=` once, or None; 400 if given more than once (API Gateway would pass on only the last)."""
    params = request.query_params or {}
    if name not in params:
        return None
    values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
    if len(values) > 1:
        raise ValidationError(f"query parameter [{name}] is given {len(values)} times; give it once")
    return values[0]
