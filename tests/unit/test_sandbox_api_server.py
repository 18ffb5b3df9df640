"""The sandbox app's `current_request` belongs to the thread that set it: a request that starts while
another is in flight must not replace the first one's (chalice keeps it in one attribute of the app)."""

from __future__ import annotations

import threading

from chalice import Chalice

from slipstream.sandbox.api_server import per_thread_requests


def test_a_request_set_by_another_thread_does_not_replace_this_threads():
    app = per_thread_requests(Chalice(app_name="t"))
    first_set, second_set = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def first() -> None:
        app.current_request = "first"
        first_set.set()
        second_set.wait()
        seen["first"] = app.current_request

    def second() -> None:
        first_set.wait()
        app.current_request = "second"
        seen["second"] = app.current_request
        second_set.set()

    def third() -> None:
        second_set.wait()
        seen["third"] = app.current_request  # this thread never set one

    threads = [threading.Thread(target=run) for run in (first, second, third)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first": "first", "second": "second", "third": None}


def test_making_an_app_per_thread_twice_keeps_one_subclass():
    app = per_thread_requests(Chalice(app_name="t"))
    cls = type(app)
    assert per_thread_requests(app) is app and type(app) is cls
    assert isinstance(app, Chalice)
