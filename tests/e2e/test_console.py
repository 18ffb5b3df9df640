"""The console in a real browser: Debian's headless Chromium, driven by Playwright's Python client (never
`playwright install`: the system binary), against the session's sandbox with the examples registered.

One browser for the module; each test opens a page. Screenshots of every page land in test-artifacts/console/
(gitignored; the path is printed) so a person can look at what the browser drew.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Runner

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "console"
WAIT_MS = 30_000  # only stops a hung test


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {ARTIFACTS}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def started(api_config, registered, tmp_path_factory) -> dict[str, str]:
    """The finished executions later tests open, started together as the module's first page opens: they run
    while the earlier tests work (one after another, waiting for them was a third of the module's time)."""
    from slipstream.client import ApiClient

    runner = Runner(ApiClient(api_config), registered)
    # examples/reliability.py's flaky task succeeds on its third call: one call already made, so its first
    # attempt fails and Step Functions' Retry runs a second one, which succeeds
    marker_dir = tmp_path_factory.mktemp("reliability")
    (marker_dir / "attempts").write_text("1")
    return {"diamond": runner.start("graphs.diamond", {"x": 3})["id"]["name"],
            "retried": runner.start("reliability.retried", {"marker_dir": str(marker_dir)})["id"]["name"],
            "batched_map": runner.start("batched_map.batched_inverses", {})["id"]["name"]}


@pytest.fixture()
def page(browser, sandbox, registered, started):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=sandbox.api_url)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(WAIT_MS)
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def _open(page, hash_path: str) -> None:
    page.goto(f"/console/index.html#{hash_path}")


def test_the_list_shows_a_fresh_execution(page, runner):
    started = runner.start("graphs.diamond", {"x": 2})["id"]["name"]
    _open(page, "/p/default/development/executions")
    row = page.locator(f'tr[data-execution="{started}"]')
    row.wait_for()
    assert "graphs.diamond" in row.inner_text()
    page.screenshot(path=ARTIFACTS / "executions.png", full_page=True)
    page.locator("#phase-filter").select_option("ABORTED")
    page.locator('#executions[data-filter="ABORTED"]').wait_for()
    assert page.locator(f'tr[data-execution="{started}"]').count() == 0


def test_the_graph_shows_every_node_with_its_phase(page, runner, started):
    done = runner.wait(started["diamond"])
    name = done["id"]["name"]
    assert done["phase"] == "SUCCEEDED"
    _open(page, f"/p/default/development/x/{name}")
    nodes = page.locator("#graph g[data-node]")
    page.wait_for_function("document.querySelectorAll('#graph g[data-phase=SUCCEEDED]').length === 4")
    assert sorted(nodes.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(runner.nodes(name))
    page.locator('#graph g[data-node="n3"]').click()
    page.wait_for_function("!document.getElementById('node-logs').textContent.startsWith('…')")
    assert "graphs.add" in page.locator("#node-panel").inner_text()
    page.screenshot(path=ARTIFACTS / "execution-graph.png", full_page=True)
    _open(page, f"/p/default/development/x/{name}?tab=timeline")
    page.locator("#timeline .tl-bar").first.wait_for()
    assert page.locator("#timeline .tl-bar").count() == 4
    page.screenshot(path=ARTIFACTS / "execution-timeline.png", full_page=True)
    _open(page, f"/p/default/development/x/{name}?tab=io")
    page.locator("#main h2", has_text="Outputs").wait_for()
    assert "8" in page.locator("#main").inner_text()  # add(inc(3), inc(3))


def test_terminate_from_the_page(page, runner):
    name = runner.start("graphs.n_shape", {"x": 1, "delay": 60.0})["id"]["name"]
    runner.wait_node(name, "n1", "RUNNING")
    _open(page, f"/p/default/development/x/{name}")
    page.locator('#graph g[data-node="n1"][data-phase="RUNNING"]').wait_for()
    page.screenshot(path=ARTIFACTS / "execution-running.png", full_page=True)
    page.locator("#terminate").click()
    page.locator("#x-phase .p-ABORTED").wait_for()
    assert runner.client.get_execution("default", "development", name)["phase"] == "ABORTED"
    page.screenshot(path=ARTIFACTS / "execution-aborted.png", full_page=True)


def test_the_launch_form_starts_a_run(page, runner, registered):
    _open(page, "/")
    page.get_by_role("link", name="development").first.wait_for()
    page.screenshot(path=ARTIFACTS / "projects.png", full_page=True)
    _open(page, "/p/default/development/launch_plans")
    page.get_by_role("link", name="nightly_greeting").click()
    # this plan's version: the versions page and the list it leaves both link it (other plans' versions too)
    page.locator(f'a[href$="/launch_plans/nightly_greeting/{registered}"]').first.click()
    page.locator("#launch").wait_for()
    assert "0 2 * * *" in page.locator("#view").inner_text()  # the plan's schedule
    page.screenshot(path=ARTIFACTS / "launch-plan.png", full_page=True)
    badge = page.locator("#active-badge")
    assert badge.get_attribute("data-active") == "no"
    page.locator("#activate").click()
    page.locator('#active-badge[data-active="yes"]').wait_for()
    assert page.locator("#activate").is_disabled()
    page.screenshot(path=ARTIFACTS / "launch-plan-active.png", full_page=True)
    _open(page, "/p/default/development/launch_plans/nightly_greeting")  # the versions list marks it
    page.locator(f'#versions tr[data-version="{registered}"] #active-version').wait_for()
    assert page.locator("#active-version").count() == 1
    page.screenshot(path=ARTIFACTS / "launch-plan-versions-active.png", full_page=True)
    _open(page, f"/p/default/development/launch_plans/nightly_greeting/{registered}")
    page.locator('#active-badge[data-active="yes"]').wait_for()
    page.locator("#deactivate").click()
    page.locator('#active-badge[data-active="no"]', has_text="no version is active").wait_for()
    page.locator("#launch").click()
    page.locator("#in-greeting").wait_for()
    assert page.locator("#in-name").is_disabled()  # fixed by the plan
    page.locator("#in-greeting").fill("Good morning")
    page.screenshot(path=ARTIFACTS / "launch-form.png", full_page=True)
    page.locator("#launch-submit").click()
    page.wait_for_url("**/x/*")
    name = page.url.rsplit("/", 1)[1]
    launched = runner.client.get_execution("default", "development", name)
    assert launched["launch_plan"]["name"] == "nightly_greeting"
    assert launched["inputs"]["greeting"] == "Good morning" and launched["inputs"]["name"] == "ops"
    page.locator("#graph g[data-node]").first.wait_for()
    page.screenshot(path=ARTIFACTS / "launched.png", full_page=True)


def test_the_page_works_through_the_signing_proxy(page, sandbox, runner, monkeypatch):
    """`slipstream console`'s proxy in front of the sandbox (which ignores the signature it adds; the signing
    itself is checked in tests/unit/test_console_proxy.py): the page loads from it and its API calls pass."""
    from slipstream.console_proxy import ConsoleProxy, sigv4_signer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCONSOLETEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    started = runner.start("graphs.diamond", {"x": 5})["id"]["name"]
    proxy = ConsoleProxy(sandbox.api_url, sigv4_signer("us-east-1")).start()
    try:
        page.goto(f"{proxy.url}#/p/default/development/executions")
        page.locator(f'tr[data-execution="{started}"]').wait_for()
        page.locator(f'tr[data-execution="{started}"] a').first.click()
        page.locator("#graph g[data-node]").first.wait_for()
        assert page.locator("#graph g[data-node]").count() == 4
    finally:
        proxy.stop()


def test_gates_are_answered_from_the_page(page, runner):
    # GIVEN examples/gates.py's workflow waiting for a typed value ("title": str) and an approval ("publish")
    name = runner.start("gates.gated", {"n": 2})["id"]["name"]
    _open(page, f"/p/default/development/x/{name}")
    # WHEN the title is typed into its gate's form and the approval is approved, each from the node's panel
    page.locator('#graph g[data-kind="gate"]', has_text="title").click()
    page.locator("#gate-value").fill("Report")
    page.screenshot(path=ARTIFACTS / "gate-signal.png", full_page=True)
    page.locator("#gate-submit").click()
    page.locator("#gate-result", has_text='sent "Report"').wait_for()
    page.locator('#graph g[data-kind="gate"]', has_text="publish").click()
    page.locator("#gate-approve").wait_for()
    page.screenshot(path=ARTIFACTS / "gate-approval.png", full_page=True)
    page.locator("#gate-approve").click()
    # THEN the execution finishes with both answers, and the answered gate shows no form any more
    page.locator("#x-phase .p-SUCCEEDED").wait_for()
    assert runner.client.get_execution("default", "development", name)["outputs"]["o0"] == "Report: xx"
    page.locator('#graph g[data-kind="gate"]', has_text="title").click()
    assert page.locator("#gate-value").count() == 0
    page.screenshot(path=ARTIFACTS / "gate-answered.png", full_page=True)


def test_the_timeline_draws_one_bar_per_attempt(page, runner, started):
    # GIVEN examples/reliability.py's flaky task whose first attempt failed and whose retry succeeded (`started`)
    done = runner.wait(started["retried"])
    assert done["phase"] == "SUCCEEDED", done.get("error")
    name = done["id"]["name"]
    # THEN the graph answer (the page's one request) holds both attempts with their times and outcomes, in order
    answer = runner.client.request("GET", f"/api/v1/executions/default/development/{name}/graph")
    (node,) = answer["nodes"]
    (first,) = node["previous_attempts"]  # the node's own fields are its last attempt's
    assert (first["attempt"], first["outcome"], node["attempts"], node["phase"]) == (0, "FAILED", 2, "SUCCEEDED")
    assert "transient failure 2" in first["error"]
    assert first["started_at"] < first["ended_at"] < node["started_at"] < node["ended_at"], node
    # AND the timeline draws a bar per attempt, colored by its outcome, with its number in the tooltip
    _open(page, f"/p/default/development/x/{name}?tab=timeline&node=n0")
    bars = page.locator('#timeline .tl-row[data-node="n0"] .tl-bar')
    bars.first.wait_for()
    assert bars.evaluate_all("els => els.map(e => e.dataset.outcome)") == ["FAILED", "SUCCEEDED"]
    assert "attempt 1 of 2 · FAILED" in bars.first.get_attribute("title")
    assert page.locator("#attempts tr[data-attempt]").count() == 2  # the node's panel lists them too
    page.screenshot(path=ARTIFACTS / "execution-timeline-attempts.png", full_page=True)


def test_a_batched_map_shows_its_items_summary_and_a_chip_per_pod(page, runner, started):
    # GIVEN examples/batched_map.py: 50 items in pods of 10, item 0 failing (1/0), above its success ratio
    done = runner.wait(started["batched_map"])
    assert done["phase"] == "SUCCEEDED", done.get("error")
    # WHEN the map node is opened
    _open(page, f"/p/default/development/x/{done['id']['name']}?node=n0")
    chips = page.locator("#children .chip")
    chips.first.wait_for()
    # THEN the summary counts items from the map's own record, and each chip is a pod named by its items
    assert "50 items: 49 succeeded, 1 failed (5 pods of 10)" in page.locator("#node-panel").inner_text()
    assert chips.all_inner_texts() == ["0–9", "10–19", "20–29", "30–39", "40–49"]
    assert chips.evaluate_all("els => els.map(e => e.className)")[0].endswith("p-FAILED")
    failures = page.locator("#node-panel").inner_text()
    assert "0–9: 1 of 10 items of batch [0..9] failed; item 0: ZeroDivisionError" in failures
    page.screenshot(path=ARTIFACTS / "batched-map.png", full_page=True)
