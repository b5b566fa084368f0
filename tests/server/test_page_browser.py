"""The web page at ``/``, driven in headless Chromium against a real server on 127.0.0.1.

A person starts runs from the page's forms, watches their events arrive, answers questions
from the forms generated from the answer events' JSON schemas, and sees results and errors.
Every wait is on the page's state (``Page.wait_for``), never on time. Screenshots are saved
in the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drawing"))

from browser import Browser, Page, chromium_path  # tests/drawing, put on the path just above

from stepwork._server.page import PAGE_SCRIPTS, page_html

TOKEN = "page-token"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module's tests."""
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/test-deps.sh installs it")
        pytest.skip("chromium is not installed (scripts/test-deps.sh installs it)")
    with Browser.launch() as running:
        yield running


def js(value: Any) -> str:
    """``value`` as a JavaScript literal."""
    return json.dumps(value)


def click(page: Page, selector: str) -> None:
    page.evaluate(f"document.querySelector({js(selector)}).click()")


def fill(page: Page, selector: str, value: str) -> None:
    page.evaluate(
        f"(() => {{ const input = document.querySelector({js(selector)});"
        f" input.value = {js(value)}; input.dispatchEvent(new Event('input')); }})()"
    )


def text(page: Page, selector: str) -> str:
    found: str = page.evaluate(f"document.querySelector({js(selector)}).textContent")
    return found


def wait_text(page: Page, selector: str, expected: str) -> None:
    """Wait until the element at ``selector`` exists and its text contains ``expected``."""
    page.wait_for(
        f"(document.querySelector({js(selector)}) || {{}}).textContent?.includes({js(expected)})"
    )


def open_page(browser: Browser, url: str, where: str = "") -> Page:
    page = browser.open(url + "/" + where)
    assert page.wait_for("document.body.dataset.ready") == "true"
    return page


def start_from_form(page: Page, workflow: str) -> str:
    """Open ``workflow``, press "Start run" and return the new run's id once its view is up."""
    page.evaluate(f"location.hash = {js('#/workflows/' + workflow)}")
    page.wait_for(f"document.getElementById('workflow-detail').dataset.workflow === {js(workflow)}")
    click(page, "#start-run")
    run_id: str = page.wait_for(
        "location.hash.startsWith('#/runs/') && document.getElementById('view-run').dataset.status"
        " && document.getElementById('view-run').dataset.runId"
    )
    return run_id


def wait_status(page: Page, status: str) -> None:
    page.wait_for(f"document.getElementById('view-run').dataset.status === {js(status)}")


def assert_clean(page: Page, url: str, allowed: str | None = None) -> None:
    """No console errors (but the network log lines matching ``allowed``); nothing fetched
    from anywhere but the server."""
    errors = [
        error
        for error in page.errors
        if not (
            allowed and error.startswith("Failed to load resource") and re.search(allowed, error)
        )
    ]
    assert not errors, errors
    # The page is served with a Content-Security-Policy; nothing on it breaks that policy.
    assert not [error for error in page.errors if "Content Security Policy" in error]
    assert all(request.startswith(url + "/") for request in page.requests), page.requests


def test_the_page_is_one_self_contained_document() -> None:
    page = page_html()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert not re.search(
        r"<link (?!rel=\"icon\" href=\"data:,\")|<img|<iframe|\bsrc=|@import", page
    )
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    assert page.count("<script>") == 1 + len(PAGE_SCRIPTS)  # page.js, then the page's own
    assert "window.StepworkDrawing" in page and page == page_html()


def test_a_person_starts_a_run_answers_it_and_sees_the_result(
    server: Any, browser: Browser, tmp_path: Path
) -> None:
    listed = httpx.get(server.url + "/workflows").json()["details"]
    page = open_page(browser, server.url)
    names = page.evaluate(
        "[...document.querySelectorAll('#workflow-list .item-name')].map((e) => e.textContent)"
    )
    assert names == [workflow["name"] for workflow in listed]
    greeter = next(workflow for workflow in listed if workflow["name"] == "greeter")
    page.evaluate("location.hash = '#/workflows/greeter'")
    page.wait_for("document.getElementById('workflow-detail').dataset.workflow === 'greeter'")
    drawn = page.evaluate("document.querySelectorAll('#wf-graph .node').length")
    assert drawn == len(greeter["graph"]["nodes"])
    page.screenshot(tmp_path / "workflows.png")

    # A plain StartEvent takes any fields: the form is one JSON object.
    fill(page, "#start-form textarea", '{"prompt": "Who is there?"}')
    run_id = start_from_form(page, "greeter")
    wait_text(page, "#question", "Who is there?")
    page.wait_for("document.querySelector('#event-list li[data-type=Question]')")
    page.wait_for("document.querySelector('#answer-form input[name=text]')")
    page.wait_for("document.querySelector('.run-drawing .bar')")
    page.screenshot(tmp_path / "waiting.png")

    # An empty answer goes to the server, whose 422 is shown next to the field it names.
    click(page, "#answer-send")
    wait_text(page, ".field[data-field=text] .field-error", "Field required")
    fill(page, "#answer-form input[name=text]", "Ada")
    click(page, "#answer-send")
    wait_status(page, "completed")
    wait_text(page, "#run-result", "Hello, Ada!")
    page.wait_for("document.querySelector('#event-list li[data-type=StopEvent]')")
    page.wait_for("document.getElementById('answer-pane').hidden")
    page.wait_for("document.querySelector('.run-drawing').dataset.invocations === '2'")
    outcomes = page.evaluate(
        "[...document.querySelectorAll('#run-timeline-svg .bar')].map((b) => b.dataset.outcome)"
    )
    assert outcomes == ["done", "done"]
    page.screenshot(tmp_path / "completed.png")
    assert httpx.get(f"{server.url}/runs/{run_id}").json()["result"] == "Hello, Ada!"

    page.evaluate("location.hash = '#/runs'")
    page.wait_for(f"document.querySelector('#run-rows tr[data-run-id={js(run_id)}]')")
    assert text(page, f"#run-rows tr[data-run-id={js(run_id)}]").count("completed") == 1
    page.evaluate(
        "(() => { const s = document.getElementById('filter-status'); s.value = 'failed';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    page.wait_for(
        "location.hash.includes('status=failed') &&"
        f" !document.querySelector('#run-rows tr[data-run-id={js(run_id)}]')"
    )
    page.screenshot(tmp_path / "runs.png")
    # Chromium logs the refused empty answer as a failed resource load; nothing else is logged.
    assert_clean(page, server.url, allowed=r"status of 422")


def test_field_inputs_and_a_failed_run(server: Any, browser: Browser, tmp_path: Path) -> None:
    page = open_page(browser, server.url, "#/workflows/countdown")
    page.wait_for("document.querySelector('#start-form input[name=count]')")
    fill(page, "#start-form input[name=count]", "1.5")
    click(page, "#start-run")
    wait_text(page, ".field[data-field=count] .field-error", "whole number")
    fill(page, "#start-form input[name=count]", "2")
    start_from_form(page, "countdown")
    wait_status(page, "completed")
    wait_text(page, "#run-result", "counted 2")
    page.wait_for("document.querySelectorAll('#event-list li[data-type=Progress]').length === 2")
    assert page.evaluate("document.getElementById('answer-pane').hidden")

    start_from_form(page, "fails")
    wait_status(page, "failed")
    error = text(page, "#run-error")
    assert "ValueError" in error and "boom" in error and "in step explode" in error
    # The step's traceback is there, collapsed until someone opens it.
    trace = page.evaluate(
        "(() => { const d = document.querySelector('#run-error details#run-traceback');"
        " return d && [d.open, d.querySelector('summary').textContent,"
        " d.querySelector('pre').textContent,"
        " d.querySelector('pre').checkVisibility()]; })()"
    )
    assert trace is not None, "no traceback under the run's error"
    is_open, summary, body, visible = trace
    assert (is_open, summary, visible) == (False, "Traceback", False)
    assert body.startswith("Traceback (most recent call last):")
    assert 'raise ValueError("boom")' in body and body.rstrip().endswith("ValueError: boom")
    click(page, "#run-traceback summary")
    page.wait_for("document.querySelector('#run-traceback pre').checkVisibility()")
    assert page.evaluate("document.getElementById('run-traceback').open")
    page.wait_for("document.querySelector('#run-timeline-svg .bar[data-outcome=failed]')")
    page.wait_for("document.querySelector('#event-list li[data-type=WorkflowFailedEvent]')")
    page.screenshot(tmp_path / "failed.png")

    start_from_form(page, "greeter")
    page.wait_for("document.querySelector('#answer-pane.asking #answer-form')")
    click(page, "#run-cancel")
    wait_status(page, "cancelled")
    page.wait_for("document.getElementById('answer-pane').hidden")
    assert page.evaluate("document.getElementById('run-cancel').hidden")
    assert_clean(page, server.url)


def test_with_a_token_and_a_step_that_waits(
    start_server: Any, browser: Browser, tmp_path: Path
) -> None:
    server = start_server(token=TOKEN)
    page = open_page(browser, server.url)
    wait_text(page, "#banner", "token")
    fill(page, "#token", TOKEN)
    page.evaluate("document.getElementById('token-form').requestSubmit()")
    page.wait_for("document.querySelector('#workflow-list .item-name')")
    assert page.evaluate("sessionStorage.getItem('stepwork.token')") == TOKEN

    # survey waits inside a step (ctx.wait_for_event): the history says what for.
    run_id = start_from_form(page, "survey")
    wait_text(page, "#question", "Favourite colour?")
    page.wait_for("document.querySelector('#answer-pane.asking #answer-form textarea')")
    fill(page, "#answer-form textarea", '{"text": "teal"}')
    click(page, "#answer-send")
    wait_status(page, "completed")
    wait_text(page, "#run-result", "noted: teal")
    page.wait_for("document.querySelector('.run-drawing').dataset.status === 'completed'")
    assert page.evaluate("document.getElementById('answer-pane').hidden")
    page.screenshot(tmp_path / "survey.png")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{server.url}/runs/{run_id}", headers=headers).json()["status"] == "completed"
    # The first load, before the token was given, was refused.
    assert_clean(page, server.url, allowed=r"status of 401")


CSP_CHECK = """
(async () => {
  const seen = new Promise((resolve) => document.addEventListener(
    "securitypolicyviolation", (e) => resolve(e.violatedDirective), { once: true }));
  const script = document.createElement("script");
  script.textContent = "window.injected = true;";
  document.body.appendChild(script);
  const directive = await seen;
  return { directive, injected: window.injected === true };
})()
"""


def test_the_content_security_policy_is_enforced(server: Any, browser: Browser) -> None:
    page = open_page(browser, server.url)
    # The page's own inline scripts ran (it is ready) under the policy; an injected one does not.
    blocked = page.evaluate(CSP_CHECK)
    assert blocked == {"directive": "script-src-elem", "injected": False}
    assert [error for error in page.errors if "Content Security Policy" in error]
    policy = httpx.get(server.url + "/").headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


STREAM_CHECK = """
(async () => {
  const frame = (offset, type, terminal) => "id: " + offset + "\\nevent: " + type + "\\ndata: " +
    JSON.stringify({offset, type, data: {}, internal: false, terminal}) + "\\n\\n";
  const second = frame(1, "B", false);
  const connections = [
    // CRLF split across chunks, a heartbeat, a frame split mid-line; then the stream drops.
    [frame(0, "A", false).replaceAll("\\n", "\\r\\n").slice(0, 6), frame(0, "A", false)
      .replaceAll("\\n", "\\r\\n").slice(6) + ": heartbeat\\n\\n", second.slice(0, 20),
      second.slice(20)],
    // The reconnection repeats offset 1 (dropped as seen), then the run ends.
    [second + frame(2, "StopEvent", true)],
  ];
  const calls = [];
  const realFetch = window.fetch;
  window.fetch = (url, init) => {
    calls.push(String(url));
    const chunks = connections[calls.length - 1];
    const encoder = new TextEncoder();
    const body = new ReadableStream({ start(controller) {
      chunks.forEach((chunk) => controller.enqueue(encoder.encode(chunk)));
      controller.close();
    } });
    return Promise.resolve(new Response(body, { status: 200 }));
  };
  const got = [];
  const states = [];
  try {
    await new Promise((resolve) => {
      StepworkPage.api.followEvents("r", { after: -1, onEvent: (e) => got.push(e.type),
        onState: (state) => { states.push(state); if (state === "ended") resolve(); } });
    });
  } finally {
    window.fetch = realFetch;
  }
  return { got, calls, states };
})()
"""


def test_the_stream_reader_resumes_from_the_last_offset(server: Any, browser: Browser) -> None:
    page = open_page(browser, server.url)
    seen = page.evaluate(STREAM_CHECK)
    assert seen["got"] == ["A", "B", "StopEvent"]
    assert seen["calls"] == ["runs/r/events?after=-1", "runs/r/events?after=1"]
    assert "retrying" in seen["states"] and seen["states"][-1] == "ended"
    assert_clean(page, server.url)
