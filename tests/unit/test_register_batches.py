"""`slipstream register` sends its specs in as few POST /api/v1/register requests as the body limit allows:
a batch whose body, `{"specs": [...]}`, is exactly MAX_REQUEST_BYTES goes in one request; one byte more
splits it. Checked on the bodies a real HTTP server receives from the client, and as a property of the
batching for any sizes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slipstream.client import MAX_REQUEST_BYTES, ApiClient, _chunks
from slipstream.config import ClientConfig


def _body_size(specs: list[dict[str, Any]]) -> int:
    return len(json.dumps({"specs": specs}).encode())


def _specs_with_body(total: int, count: int = 3) -> list[dict[str, Any]]:
    """`count` specs whose request body, all in one, is exactly `total` bytes."""
    specs = [{"kind": "task", "id": i, "pad": ""} for i in range(count)]
    specs[-1]["pad"] = "x" * (total - _body_size(specs))
    assert _body_size(specs) == total
    return specs


@pytest.fixture()
def recording_server() -> Iterator[tuple[str, list[int]]]:
    """An HTTP server that answers /api/v1/register as the API does and records each body's length."""
    sizes: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            sizes.append(len(raw))
            entities = [{"status": "created", "kind": s["kind"], "id": {"name": str(s["id"])}}
                        for s in json.loads(raw)["specs"]]
            payload = json.dumps({"entities": entities}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sizes
    finally:
        server.shutdown()
        server.server_close()


def test_a_batch_exactly_at_the_limit_goes_in_one_request(recording_server):
    url, sizes = recording_server
    specs = _specs_with_body(MAX_REQUEST_BYTES)
    results = ApiClient(ClientConfig(url, "p", "development", "none")).register(specs)
    assert sizes == [MAX_REQUEST_BYTES]
    assert [r["id"]["name"] for r in results] == ["0", "1", "2"]


def test_one_byte_over_the_limit_splits_into_two_requests_each_within_it(recording_server):
    url, sizes = recording_server
    specs = _specs_with_body(MAX_REQUEST_BYTES + 1)
    results = ApiClient(ClientConfig(url, "p", "development", "none")).register(specs)
    assert len(sizes) == 2 and all(size <= MAX_REQUEST_BYTES for size in sizes), sizes
    assert [r["id"]["name"] for r in results] == ["0", "1", "2"]


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_boundary_at_a_small_limit(extra):
    specs = _specs_with_body(200 + extra, count=4)
    chunks = list(_chunks(specs, 200))
    assert len(chunks) == (1 if extra <= 0 else 2)
    assert [s for c in chunks for s in c] == specs


@given(st.lists(st.integers(min_value=0, max_value=120), max_size=30), st.integers(min_value=20, max_value=400))
def test_batches_keep_order_fit_the_limit_and_cannot_be_merged(pads, limit):
    specs = [{"kind": "task", "id": i, "pad": "x" * n} for i, n in enumerate(pads)]
    chunks = list(_chunks(specs, limit))
    assert [s for c in chunks for s in c] == specs
    for chunk in chunks:
        assert chunk and (_body_size(chunk) <= limit or len(chunk) == 1)  # a spec over the limit goes alone
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert _body_size([*before, after[0]]) > limit
