"""`slipstream console`'s local proxy over real HTTP: it serves the console's files, forwards API calls to the
stage's URL signed with SigV4 (botocore, credentials from the environment), and signs nothing for another page."""

from __future__ import annotations

import http.client
import http.server
import json
import threading

import pytest

from slipstream.console_proxy import ConsoleProxy, sigv4_signer


class Upstream(http.server.ThreadingHTTPServer):
    """A stand-in API Gateway that records what reaches it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.seen.append((self.command, self.path, dict(self.headers.items()), body))
                answer = json.dumps({"projects": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _record

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True).start()


@pytest.fixture(scope="module")
def servers():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ACCESS_KEY_ID": "AKIDCONSOLETEST", "AWS_SECRET_ACCESS_KEY": "secret",
                            "AWS_SESSION_TOKEN": "token", "AWS_DEFAULT_REGION": "eu-west-1"}.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        upstream = Upstream()
        proxy = ConsoleProxy(f"http://127.0.0.1:{upstream.server_address[1]}/api", sigv4_signer(None)).start()
        yield proxy, upstream
        proxy.stop()
        upstream.shutdown()
        upstream.server_close()


@pytest.fixture()
def proxied(servers):
    servers[1].seen.clear()
    return servers


def _send(proxy: ConsoleProxy, method: str, path: str, body: bytes | None = None, **headers: str):
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    return answer.status, dict(answer.getheaders()), answer.read()


def test_api_calls_are_forwarded_signed(proxied):
    proxy, upstream = proxied
    status, _, body = _send(proxy, "GET", "/api/v1/projects?limit=5")
    assert status == 200 and json.loads(body) == {"projects": []}
    method, path, headers, _ = upstream.seen[-1]
    assert (method, path) == ("GET", "/api/api/v1/projects?limit=5")  # below the stage's base path, /api
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDCONSOLETEST/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "token" and headers["X-Amz-Date"]


def test_the_console_page_may_write(proxied):
    proxy, upstream = proxied
    status, _, _ = _send(proxy, "POST", "/api/v1/executions/p/d/x1/terminate", b"{}",
                         Origin=proxy.origin, **{"Content-Type": "application/json"})
    assert status == 200
    assert upstream.seen[-1][0] == "POST" and upstream.seen[-1][3] == b"{}"


def test_other_pages_get_nothing_signed(proxied):
    proxy, upstream = proxied
    json_type = {"Content-Type": "application/json"}
    assert _send(proxy, "POST", "/api/v1/projects", b"{}", Origin="https://evil.example", **json_type)[0] == 403
    assert _send(proxy, "POST", "/api/v1/projects", b"name=x", Origin=proxy.origin,
                 **{"Content-Type": "application/x-www-form-urlencoded"})[0] == 403
    assert _send(proxy, "GET", "/api/v1/projects", Host="rebound.example:8765")[0] == 403
    assert upstream.seen == []


def test_the_console_files_are_served_locally(proxied):
    proxy, upstream = proxied
    status, headers, body = _send(proxy, "GET", "/console/index.html")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"console.js" in body
    assert _send(proxy, "GET", "/")[1]["Location"] == "/console/index.html"
    assert _send(proxy, "GET", "/console/nope.js")[0] == 404
    assert upstream.seen == []
