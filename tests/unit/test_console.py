"""The console's pure parts: the graph it draws from a workflow spec, and its static files as the app serves
them (the browser tests, tests/e2e/test_console.py, drive the page itself)."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from chalice.test import Client

import app
from chalicelib.console import read_asset, workflow_graph
from chalicelib.errors import NotFoundError, ValidationError

TASK = {"project": "p", "domain": "d", "name": "m.inc", "version": "v"}


def _node(node_id: str, *sources: str, upstream: tuple[str, ...] = ()) -> dict:
    inputs = {f"x{i}": {"promise": {"node": s, "output": "o0"}} for i, s in enumerate(sources)}
    return {"id": node_id, "kind": "task", "task": TASK, "inputs": inputs, "upstream": list(upstream)}


def test_the_graph_has_every_node_and_the_edges_of_data_and_order():
    spec = {"nodes": [_node("a"), _node("b", "a"), _node("c", "a"), _node("d", "b", "c"),
                      _node("e", upstream=("d",))]}
    graph = workflow_graph(spec)
    assert [n["id"] for n in graph["nodes"]] == ["a", "b", "c", "d", "e"]
    assert graph["nodes"][0] == {"id": "a", "kind": "task", "entity": "m.inc"}
    assert sorted(map(tuple, graph["edges"])) == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e")]


def test_a_branch_is_one_node_reading_what_its_cases_read():
    case = {"condition": {"is_none": {"promise": {"node": "a", "output": "o0"}}}, "then": _node("t", "b")}
    branch = {"id": "br", "kind": "branch", "name": "check", "upstream": [], "cases": [case], "else": None,
              "else_fail": "no case matched"}
    graph = workflow_graph({"nodes": [_node("a"), _node("b"), branch]})
    assert {"id": "br", "kind": "branch", "entity": "check"} in graph["nodes"]
    assert sorted(map(tuple, graph["edges"])) == [("a", "br"), ("b", "br")]


def test_a_gate_node_carries_what_its_form_needs():
    title = {"id": "g", "kind": "gate", "gate": "signal", "name": "title", "seconds": 60,
             "type": {"simple": "string"}, "upstream": []}
    pause = {"id": "s", "kind": "gate", "gate": "sleep", "name": None, "seconds": 1, "type": None, "upstream": ["g"]}
    graph = workflow_graph({"nodes": [title, pause, _node("a")]})
    assert graph["nodes"][0] == {"id": "g", "kind": "gate", "entity": "title",
                                 "gate": {"gate": "signal", "name": "title", "type": {"simple": "string"}}}
    assert graph["nodes"][1]["gate"]["gate"] == "sleep"
    assert "gate" not in graph["nodes"][2] and graph["edges"] == [["g", "s"]]


def test_assets_are_read_from_the_package_and_bad_names_refused():
    text, content_type = read_asset("console.js")
    assert content_type.startswith("text/javascript") and "SlipGraph" in text
    with pytest.raises(ValidationError, match="not a console file name"):
        read_asset("../app.py")
    with pytest.raises(NotFoundError, match="no file"):
        read_asset("missing.js")
    with pytest.raises(NotFoundError):
        read_asset("__init__.py")  # a file of the package, not of the console


def test_every_file_the_page_loads_is_package_data():
    page = resources.files("chalicelib").joinpath("console", "index.html").read_text()
    for name in ("console.css", "common.js", "graph.js", "timeline.js", "panel.js", "console.js"):
        assert f'"{name}"' in page
        assert resources.files("chalicelib").joinpath("console", name).is_file()


def test_the_app_serves_the_page_without_authorization():
    with Client(app.app) as client:
        moved = client.http.get("/console")
        assert moved.status_code == 301 and moved.headers["Location"] == "console/index.html"
        page = client.http.get("/console/index.html")
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert b"console.js" in page.body
        missing = client.http.get("/console/nothing.css")
        assert missing.status_code == 404 and json.loads(missing.body)["error"]["code"]
