"""`slipstream console`: the console on 127.0.0.1, its API calls signed with the user's AWS credentials.

On AWS the API is IAM-authorized (SigV4), which a browser cannot sign by itself; as `kubectl proxy` does for
the Kubernetes API, a small local server does it. It serves the console's files from the installed package
(the same files the app serves under /console/) and forwards `/api/v1/...` to the stage's API, each request
signed with botocore's SigV4Auth and credentials resolved as the AWS CLI resolves them (refreshed per request,
so temporary credentials keep working).

A signing proxy on localhost must not sign for other web pages the user has open, so it answers only:
- requests whose Host is the proxy's own address (a DNS-rebinding page has another Host);
- writes (anything but GET/HEAD) whose Origin, when a browser sends one, is the proxy's own, and whose body is
  JSON (a cross-site form cannot send `application/json` without a preflight, which is never answered).
Nothing is served on any interface but 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from chalicelib.console import read_asset
from chalicelib.errors import SlipstreamError, UserError

Signer = Callable[[str, str, bytes | None, dict[str, str]], dict[str, str]]
FORWARDED_HEADERS = ("Content-Type", "Accept")
MAX_BODY = 6 * 1024 * 1024  # API Gateway's own limit for a Lambda proxy request
UPSTREAM_TIMEOUT = 60.0


def sigv4_signer(region: str | None) -> Signer:
    """Sign each request as the AWS CLI would: the default credential chain, service `execute-api`."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.get_session()
    if session.get_credentials() is None:
        raise UserError("no AWS credentials found to sign the console's requests; configure them as for the AWS "
                        "CLI (aws configure, AWS_PROFILE or environment variables)")
    signing_region = region or session.get_config_variable("region") or "us-east-1"

    def sign(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        credentials = session.get_credentials().get_frozen_credentials()
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials, "execute-api", signing_region).add_auth(request)
        return dict(request.headers.items())

    return sign


class ConsoleProxy:
    """Serve the console and forward its API calls to `api_url`, signed by `signer` (None: unsigned)."""

    def __init__(self, api_url: str, signer: Signer | None, port: int = 0) -> None:
        self.api_url = api_url.rstrip("/")
        self.signer = signer
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    @property
    def url(self) -> str:
        return f"{self.origin}/console/index.html"

    def start(self) -> ConsoleProxy:
        threading.Thread(target=self.server.serve_forever, args=(0.1,), name="console-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def refusal(self, method: str, headers: Any) -> str | None:
        """Why a request must not be signed, or None."""
        if headers.get("Host") not in self.hosts:
            return f"Host [{headers.get('Host')}] is not this proxy's; open {self.url}"
        if method in ("GET", "HEAD"):
            return None
        origin = headers.get("Origin")
        if origin is not None and origin not in (self.origin, f"http://localhost:{self.port}"):
            return f"requests from [{origin}] are not signed; only the console's own page may write"
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            return "send JSON (Content-Type: application/json)"
        return None

    def forward(self, method: str, path: str, body: bytes | None, headers: Any) -> tuple[int, bytes, str]:
        url = self.api_url + path
        sent = {name: headers[name] for name in FORWARDED_HEADERS if headers.get(name)}
        if self.signer is not None:
            sent = self.signer(method, url, body, sent)
        request = urllib.request.Request(url, data=body, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=UPSTREAM_TIMEOUT) as answer:
                return answer.status, answer.read(), answer.headers.get("Content-Type", "application/json")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers.get("Content-Type", "application/json")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return 502, _error("BadGateway", f"the API at [{self.api_url}] did not answer: {exc}"), "application/json"


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _handler(proxy: ConsoleProxy) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _serve(self) -> None:
            why = proxy.refusal(self.command, self.headers)
            if why is not None:
                return self._answer(403, _error("Forbidden", why), "application/json")
            path = self.path.split("#", 1)[0]
            if path in ("/", "/console", "/console/"):
                return self._answer(302, b"", "text/plain", {"Location": "/console/index.html"})
            if path.startswith("/console/") and self.command in ("GET", "HEAD"):
                try:
                    text, content_type = read_asset(path.removeprefix("/console/").split("?", 1)[0])
                except SlipstreamError as exc:
                    return self._answer(404, _error("NotFound", str(exc)), "application/json")
                return self._answer(200, text.encode(), content_type, {"Cache-Control": "no-cache"})
            if not path.startswith("/api/v1/"):
                return self._answer(404, _error("NotFound", f"nothing at [{path[:200]}]; open {proxy.url}"),
                                    "application/json")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, _error("PayloadTooLarge", f"body over {MAX_BODY} bytes"), "application/json")
            body = self.rfile.read(length) if length else None
            self._answer(*proxy.forward(self.command, path, body, self.headers))

        do_GET = do_POST = do_HEAD = _serve

    return Handler
