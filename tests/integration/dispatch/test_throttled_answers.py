"""A throttled answer never loses a task token. The dispatcher's Step Functions client reaches moto through a
small HTTP proxy that answers `400 ThrottlingException`, as AWS does past its token bucket, to the first N
calls of an operation; botocore's own retries are off, so every retry seen here is the dispatcher's."""

from __future__ import annotations

import collections
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.config import LOCAL_CREDENTIALS
from chalicelib.task_tokens import Backoff
from tests.integration.dispatch.join_harness import Harness, join_harness  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration
QUICK = Backoff(first=0.01, most=0.02, budget=5.0)


class ThrottlingProxy(ThreadingHTTPServer):
    """Forwards Step Functions calls to `upstream`, refusing the first `throttle[operation]` of each kind."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.throttle: collections.Counter[str] = collections.Counter()
        self.throttled: collections.Counter[str] = collections.Counter()
        self.forwarded: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: ThrottlingProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        with self.server.lock:
            refuse = self.server.throttle[operation] > 0
            if refuse:
                self.server.throttle[operation] -= 1
                self.server.throttled[operation] += 1
        if refuse:
            self._reply(400, json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode())
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.server.upstream + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        with self.server.lock:
            self.server.forwarded[operation] += 1
        self._reply(status, payload)

    def _reply(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def proxied(sandbox, join_harness) -> Iterator[tuple[Harness, ThrottlingProxy]]:  # noqa: F811
    proxy = ThrottlingProxy(sandbox.endpoint_url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    sfn = boto3.session.Session(*LOCAL_CREDENTIALS).client(
        "stepfunctions", region_name=sandbox.settings.region, endpoint_url=proxy.url,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    yield join_harness.answering_through(sfn), proxy
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture()
def h(proxied) -> tuple[Harness, ThrottlingProxy]:
    harness, proxy = proxied
    for counter in (proxy.throttle, proxy.throttled, proxy.forwarded):
        counter.clear()
    harness.dispatcher.answers.backoff = QUICK
    return harness.fresh(), proxy


def test_a_release_answers_through_throttling(h):
    h, proxy = h
    h.join_plan(1)
    h.wait("j", "tok-j")
    proxy.throttle["SendTaskSuccess"] = 3
    h.done("n0")
    assert (proxy.throttled["SendTaskSuccess"], proxy.forwarded["SendTaskSuccess"]) == (3, 1)
    record = h.store.node(h.x, "j")
    assert (record.phase, record.wait_token) == ("QUEUED", None)


def test_a_throttle_outlasting_the_budget_gives_the_token_back_for_the_redelivery(h):
    h, proxy = h
    h.dispatcher.answers.backoff = Backoff(first=0.01, most=0.01, budget=0.05)
    h.join_plan(1)
    h.wait("j", "tok-j")
    proxy.throttle["SendTaskSuccess"] = 1_000
    with pytest.raises(ClientError, match="ThrottlingException"):
        h.done("n0")  # the message is not deleted: SQS delivers it again
    assert proxy.throttled["SendTaskSuccess"] >= 2 and proxy.forwarded["SendTaskSuccess"] == 0
    assert h.store.node(h.x, "j").wait_token == "tok-j"
    proxy.throttle.clear()
    h.done("n0")
    assert proxy.forwarded["SendTaskSuccess"] == 1
    assert h.store.node(h.x, "j").wait_token is None


def test_heartbeats_and_failures_are_retried_until_answered_or_the_token_is_gone(h):
    h, proxy = h
    proxy.throttle.update({"SendTaskHeartbeat": 2, "SendTaskFailure": 2})
    # moto knows no task of this token: once through the throttle, the answer says it is gone
    assert h.dispatcher.heartbeat_token("tok-unknown") is False
    h.dispatcher.fail_token("tok-f", "slipstream.UserError", "bad input")
    assert proxy.throttled == {"SendTaskHeartbeat": 2, "SendTaskFailure": 2}
    assert proxy.forwarded == {"SendTaskHeartbeat": 1, "SendTaskFailure": 1}
