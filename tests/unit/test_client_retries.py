"""The API client's waits and retries, against a real HTTP server that misbehaves on purpose: it drops or
resets connections, answers 503, or answers too late. Idempotent requests (registration, GETs) are sent
again after a lost connection; others are not, and say so; a timeout is never retried and says whether
running the command again is safe; a registration's timeout grows with the specs it carries."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.errors import SlipstreamError, UserError
from slipstream.client import SECONDS_PER_SPEC, ApiClient
from slipstream.config import ClientConfig


@dataclass
class Script:
    """What the server does with each request, in order; then it answers normally."""

    faults: list[str] = field(default_factory=list)  # "drop", "reset", "503", "hang"
    seen: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture()
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            script.seen.append(f"{self.command} {self.path}")
            fault = script.faults.pop(0) if script.faults else None
            if fault == "drop":  # close without a word: the client sees RemoteDisconnected
                self.close_connection = True
                return
            if fault == "reset":  # RST instead of an answer: ECONNRESET
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            if fault == "hang":
                script.release.wait()
            status, payload = (503, {"error": {"code": "Busy", "message": "busy"}}) if fault == "503" \
                else (200, _answer(self.command, body))
            data = json.dumps(payload).encode()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up waiting
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        script.release.set()
        httpd.shutdown()
        httpd.server_close()


def _answer(method: str, body: Any) -> Any:
    if method == "GET":
        return {"projects": [{"name": "p"}]}
    if isinstance(body, dict) and "specs" in body:
        return {"entities": [{"kind": "task", "id": s["id"], "status": "created"} for s in body["specs"]]}
    return {"name": "p"}


def _client(url: str, timeout: float = 30.0, tries: int = 4) -> ApiClient:
    """A client whose retries wait 10 ms, not the default 0.5 s, doubling: the tests count sends, not seconds."""
    return ApiClient(ClientConfig(url, "p", "development", "none"), timeout=timeout, tries=tries, backoff=0.01)


def _specs(count: int) -> list[dict[str, Any]]:
    return [{"kind": "task", "id": {"project": "p", "domain": "development", "name": f"t{i}", "version": "v"}}
            for i in range(count)]


@pytest.mark.parametrize("fault", ["drop", "reset", "503"])
def test_a_registration_is_sent_again_until_it_is_answered(server, fault):
    url, script = server
    script.faults = [fault, fault]
    client = _client(url)
    results = client.register(_specs(3))
    assert [r["id"]["name"] for r in results] == ["t0", "t1", "t2"]
    assert len(script.seen) == 3 and len(set(script.seen)) == 1
    assert client.requests_sent == 3


def test_gets_are_sent_again_too(server):
    url, script = server
    script.faults = ["reset", "drop", "503"]
    assert _client(url).list_projects() == [{"name": "p"}]
    assert len(script.seen) == 4


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_a_request_that_is_not_idempotent_is_sent_once(server, fault):
    url, script = server
    script.faults = [fault]
    with pytest.raises(UserError) as caught:
        _client(url).create_project("p")
    assert script.seen == ["POST /api/v1/projects"]
    message = str(caught.value)
    assert f"[{url}] was lost before it answered POST /api/v1/projects" in message
    assert "check whether it took effect before running the command again" in message


def test_a_503_to_a_request_that_is_not_idempotent_is_the_answer(server):
    url, script = server
    script.faults = ["503"]
    with pytest.raises(SlipstreamError, match="the control plane failed: busy"):
        _client(url).create_project("p")
    assert len(script.seen) == 1


def test_retries_end_and_say_so(server):
    url, script = server
    script.faults = ["reset"] * 10
    with pytest.raises(UserError) as caught:
        _client(url, tries=3).register(_specs(1))
    assert len(script.seen) == 3
    assert "3 tries" in str(caught.value) and "running `slipstream register` again is safe" in str(caught.value)


def test_a_registration_that_gets_no_answer_in_time_is_not_sent_again(server):
    """The timeout is the client's base plus SECONDS_PER_SPEC per spec: 0.2 s + 2 specs here."""
    url, script = server
    script.faults = ["hang"]
    with pytest.raises(UserError) as caught:
        _client(url, timeout=0.2).register(_specs(2))
    script.release.set()
    message = str(caught.value)
    waited = 0.2 + 2 * SECONDS_PER_SPEC
    assert f"did not answer POST /api/v1/projects/p/domains/development/register within {waited:g}s" in message
    assert "it may still be completing it" in message
    assert "registration is idempotent, so running `slipstream register` again is safe" in message
    assert len(script.seen) == 1
    assert "cannot reach" not in message


def test_nothing_listening_is_reported_at_once(unused_port):
    with pytest.raises(UserError, match=r"cannot reach the control plane .* is the sandbox running"):
        _client(f"http://127.0.0.1:{unused_port}").list_projects()


@pytest.fixture()
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
