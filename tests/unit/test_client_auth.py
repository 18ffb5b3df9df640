"""Requests to a non-local API are signed with the caller's AWS credentials (SigV4, execute-api)."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from slipstream.client import ApiClient
from slipstream.config import ClientConfig, load_config


@pytest.fixture()
def capture():
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            body = json.dumps({"projects": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_sigv4_signs_with_the_callers_credentials(capture, monkeypatch):
    url, seen = capture
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    ApiClient(ClientConfig(url, "p", "development", "sigv4", "eu-west-1")).list_projects()
    authorization = seen[-1]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization and "X-Amz-Date" in seen[-1]


def test_local_apis_are_not_signed_and_remote_ones_are_by_default(capture, monkeypatch, tmp_path):
    url, seen = capture
    ApiClient(ClientConfig(url, "p", "development", "none")).list_projects()
    assert "Authorization" not in seen[-1]
    monkeypatch.setenv("SLIPSTREAM_HOME", str(tmp_path))
    monkeypatch.setenv("SLIPSTREAM_API_URL", "https://abc.execute-api.us-east-1.amazonaws.com/api")
    assert load_config().auth == "sigv4"
    monkeypatch.setenv("SLIPSTREAM_API_URL", url)
    assert load_config().auth == "none"
