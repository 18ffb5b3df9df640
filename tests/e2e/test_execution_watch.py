"""Following an execution by long polls: GET of an execution with `since` (a change token) and `wait_seconds`
answers at the execution's next change, or after the wait with the same token (chalicelib.executions.Watch)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import NotFoundError, ValidationError
from tests.e2e.conftest import TERMINAL

pytestmark = pytest.mark.e2e


def _seen(answer: dict[str, Any]) -> dict[str, Any]:
    """What a reader sees change: the execution's phase, clocks and error, and its nodes."""
    return {"phase": answer["phase"], "started_at": answer["started_at"], "ended_at": answer["ended_at"],
            "error": answer["error"], "nodes": answer["nodes"]}


def _get(runner: Any, name: str, **watch: Any) -> dict[str, Any]:
    return runner.client.get_execution(runner.project, "development", name, nodes=True, **watch)


def test_a_long_poll_answers_with_the_next_change_and_an_unchanged_one_after_its_wait(runner):
    # GIVEN a running execution and what a reader saw of it
    name = runner.start("hello.my_wf", {"a": 3, "b": "x"})["id"]["name"]
    answer = _get(runner, name)
    # WHEN the reader waits on it from change token to change token until it ends
    changes = 0
    while answer["phase"] not in TERMINAL:
        previous = answer
        answer = _get(runner, name, since=previous["change_token"], wait_seconds=20)
        # THEN a new token comes with something the reader can see changed, and the same token with nothing
        if answer["change_token"] != previous["change_token"]:
            changes += 1
            assert _seen(answer) != _seen(previous)
        else:
            assert _seen(answer) == _seen(previous)
    assert changes >= 1
    assert answer["phase"] == "SUCCEEDED", answer["error"]
    assert answer["outputs"] == {"o0": 5, "o1": "xworld"}
    assert [node["phase"] for node in answer["nodes"]] == ["SUCCEEDED", "SUCCEEDED"]
    # AND an ended execution does not change: after the wait, the same token and the same view
    unchanged = _get(runner, name, since=answer["change_token"], wait_seconds=1)
    assert unchanged["change_token"] == answer["change_token"]
    assert _seen(unchanged) == _seen(answer)
    # AND a plain read stays as it was: no token, no nodes
    plain = runner.client.get_execution(runner.project, "development", name)
    assert "change_token" not in plain and "nodes" not in plain


@pytest.mark.parametrize("params, named", [
    ({"wait_seconds": "21"}, "wait_seconds [21]"),
    ({"wait_seconds": "-1"}, "wait_seconds [-1]"),
    ({"wait_seconds": "1.5"}, "wait_seconds [1.5]"),
    ({"since": "not-a-token"}, "since [not-a-token]"),
    ({"since": "0" * 21}, "since ["),
    ({"nodes": "yes"}, "nodes [yes]"),
])
def test_bad_watch_parameters_are_refused_naming_the_parameter(api, params, named):
    with pytest.raises(ValidationError, match=named.replace("[", r"\[")):
        api.request("GET", "/api/v1/executions/default/development/xnever", params=params)


def test_a_long_poll_of_a_missing_execution_is_404_at_once(api):
    with pytest.raises(NotFoundError, match="does not exist"):
        api.get_execution("default", "development", "xnever", since="0" * 20, wait_seconds=20)
