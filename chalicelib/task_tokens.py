"""Answering Step Functions task tokens so that a throttle never loses one.

SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat share one token bucket per account and region (500/s
refill in us-east-1); past it AWS answers 400 ThrottlingException. botocore's own retries give up after a few
attempts, and a wait token the dispatcher has claimed and then failed to answer would leave its node waiting
until the execution times out. So every answer is retried, with jittered exponential backoff, until it goes
through or the token is provably gone (TaskTimedOut, InvalidToken, TaskDoesNotExist: the execution ended or
the token was answered already). The retrying is bounded by a budget well inside a Lambda's 60 s (a Lambda
that times out mid-answer could not give a claimed token back): past it the error propagates, the caller gives
the claimed token back, and SQS redelivers the message to try again.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

logger = logging.getLogger("slipstream.tokens")
GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
                       "ServiceUnavailable", "InternalFailure", "InternalServerError", "RequestTimeout"})
MAX_CAUSE = 32_000  # SendTaskFailure allows a cause of 32,768 characters; leave room


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: doubling from `first` to `most` seconds, full jitter above half, for at most
    `budget` seconds in all."""

    first: float = 0.1
    most: float = 5.0
    budget: float = 10.0


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in THROTTLED or status >= 500
    return isinstance(exc, ConnectionError | HTTPClientError)


class TokenAnswers:
    """Answers task tokens through the Step Functions client passed in; True once answered, False if gone."""

    def __init__(self, sfn: Any, backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.sfn = sfn
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    def succeed(self, token: str, output: dict[str, Any]) -> bool:
        return self._call("send_task_success", taskToken=token, output=json.dumps(output))

    def fail(self, token: str, error: str, cause: str) -> bool:
        return self._call("send_task_failure", taskToken=token, error=error,
                          cause=json.dumps({"message": cause})[:MAX_CAUSE])

    def heartbeat(self, token: str) -> bool:
        return self._call("send_task_heartbeat", taskToken=token)

    def _call(self, operation: str, **params: Any) -> bool:
        delay, deadline = self.backoff.first, time.monotonic() + self.backoff.budget
        while True:
            try:
                getattr(self.sfn, operation)(**params)
                return True
            except (ClientError, ConnectionError, HTTPClientError) as exc:
                if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in GONE:
                    logger.info("token already answered or expired: %s", exc)
                    return False
                if not _retryable(exc) or time.monotonic() + delay > deadline:
                    raise
                logger.warning("%s throttled or failed (%s); retrying in up to %.2fs", operation, exc, delay)
            self.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self.backoff.most)
