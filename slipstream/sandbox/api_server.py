"""The sandbox's HTTP server for the Chalice app: many clients at once, each answered from its own request.

Chalice's `LocalDevServer` as is does not hold under load (chalice 1.34, measured with 64 concurrent clients):

- Chalice keeps the request in one attribute, `app.current_request`, written by `Chalice.__call__` and read
  by the routes. Two requests in flight read each other's body and query string: registrations answered
  for another batch, limits of other listings, 500s. The handler's methods cannot be wrapped by overriding
  `_generic_handle` in a subclass, because the base class binds `do_GET = do_POST = … = _generic_handle`
  in its body; the subclass's method is never called.
- socketserver's listen backlog is 5: a burst of clients gets connections reset.

What this module does instead: a threading server with a listen queue of 1024 (the kernel caps it at
`net.core.somaxconn`), and the app's `current_request` and `lambda_context` kept per thread, the way
Chalice's own `chalice local` does it (`chalice.local.LocalChalice`): the app object's class gets a subclass
whose two attributes are thread-local properties. Requests then run side by side, as concurrent Lambda
invocations do. Per thread rather than one lock around dispatch: a lock makes every request wait for the
slowest one in flight — a health check or a `get executions` behind a thousand-spec registration — which
is how clients came to time out while the server went on working. The routes and the services they
delegate to are already shared with the sandbox's worker threads (and registration writes from a thread
pool), so they hold under concurrent use; what was not per request was only Chalice's attribute.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any

LISTEN_QUEUE = 1024
POLL_SECONDS = 0.1  # how often serve_forever looks for shutdown: stop waits at most this long
IDLE_CONNECTION_SECONDS = 120  # a kept-alive connection that sends nothing for this long is closed


class _PerThreadRequest:
    """Mixed into the app's class: `current_request` and `lambda_context` belong to the calling thread."""

    _request_local = threading.local()

    @property
    def current_request(self) -> Any:
        return getattr(self._request_local, "current_request", None)

    @current_request.setter
    def current_request(self, value: Any) -> None:
        self._request_local.current_request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._request_local, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._request_local.lambda_context = value


def per_thread_requests(app: Any) -> Any:
    """Make `app`'s current request per thread (idempotent); returns `app`. Attributes of the instance are
    shadowed by the class's properties, so nothing else about the app changes."""
    if not isinstance(app, _PerThreadRequest):
        app.__class__ = type(f"PerThread{type(app).__name__}", (_PerThreadRequest, type(app)), {})
    return app


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a client that keeps its connection open never holds up shutdown
    request_queue_size = LISTEN_QUEUE


class ApiServer:
    """The Chalice app served on host:port from a thread of its own; `stop()` returns once it is closed."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        from chalice.config import Config
        from chalice.local import ChaliceRequestHandler, LocalDevServer

        class QuietHandler(ChaliceRequestHandler):
            timeout = IDLE_CONNECTION_SECONDS

            def log_message(self, format: str, *args: Any) -> None:  # the sandbox log is for errors
                pass

        self._dev = LocalDevServer(per_thread_requests(app), Config(), host=host, port=port,
                                   handler_cls=QuietHandler, server_cls=_Server)
        self.server = self._dev.server
        self.port = int(self.server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                                        name="sandbox-api", daemon=True)

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and close the socket; requests in flight end with the process (daemon threads)."""
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
