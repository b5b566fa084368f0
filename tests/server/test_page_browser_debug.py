"""Debugging runs from the web page, in headless Chromium against real servers on 127.0.0.1:
an invocation's detail with its attempts and traceback, ``ctx.store`` after any tick, fork
from the history, crash/resume/takeover markers, and the run list paged and searched on the
server. Every wait is on the page's state (``Page.wait_for``)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from debug_workflows import debug_workflows
from http_helpers import wait_for_event, wait_for_status
from live_server import ServerFactory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drawing"))

from browser import Browser, Page, chromium_path  # tests/drawing, put on the path just above

from stepwork._runtime import envelopes
from stepwork._stores.url import store_from_url


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
    return json.dumps(value)


def click(page: Page, selector: str) -> None:
    """Click the element at ``selector`` (SVG elements too), as a person would."""
    page.evaluate(
        f"document.querySelector({js(selector)})"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))"
    )


def text(page: Page, selector: str) -> str:
    found: str = page.evaluate(f"document.querySelector({js(selector)}).textContent")
    return found


def wait_text(page: Page, selector: str, expected: str) -> None:
    page.wait_for(
        f"(document.querySelector({js(selector)}) || {{}}).textContent?.includes({js(expected)})"
    )


def open_run(browser: Browser, url: str, run_id: str) -> Page:
    page = browser.open(f"{url}/#/runs/{run_id}")
    assert page.wait_for("document.body.dataset.ready") == "true"
    return page


def assert_clean(page: Page, url: str) -> None:
    assert not page.errors, page.errors
    assert all(request.startswith(url + "/") for request in page.requests), page.requests


def test_an_invocation_opens_its_attempts_and_the_state_travels_in_time(
    start_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    server = start_server(workflows=debug_workflows())
    with httpx.Client(base_url=server.url, timeout=20) as http:
        started = http.post("/workflows/flaky/runs", json={"input": {"word": "ok"}}).json()
        run_id = started["run_id"]
        wait_for_status(http, run_id, "completed")
        ticks = len(http.get(f"/runs/{run_id}/history").json()["entries"])
    page = open_run(browser, server.url, run_id)
    page.wait_for("document.querySelector('.run-drawing .bar[data-invocation=\"1\"]')")

    # The failed first attempt of `work`: its input, both attempts, the error and traceback.
    click(page, '.run-drawing .bar[data-invocation="1"]')
    page.wait_for("document.getElementById('invocation-detail').dataset.invocation === '1'")
    assert not page.evaluate("document.getElementById('invocation-detail').hidden")
    assert '"word": "ok"' in text(page, "#invocation-input")
    attempts = page.evaluate(
        "[...document.querySelectorAll('#invocation-attempts .attempt')]"
        ".map((a) => [a.dataset.attempt, a.dataset.outcome, a.textContent])"
    )
    assert [(a, o) for a, o, _ in attempts] == [("1", "failed"), ("2", "done")]
    assert "ValueError: first try at ok" in attempts[0][2] and "retried after 0" in attempts[0][2]
    assert "raise ValueError" in text(page, "#invocation-attempts .traceback pre")
    assert "ran in pid " in text(page, "#invocation-facts")
    page.screenshot(tmp_path / "invocation.png")
    # The retry that succeeded shows its output.
    click(page, '.run-drawing .bar[data-invocation="2"]')
    wait_text(page, "#invocation-output", '"result": "OK"')

    # Time travel: the state follows the last tick, then the slider and the history move it.
    page.wait_for(f"document.getElementById('state-view').dataset.seq === {js(str(ticks - 1))}")
    assert '"phase": "worked"' in text(page, "#state-view")
    page.evaluate(
        "(() => { const s = document.getElementById('state-slider'); s.value = '1';"
        " s.dispatchEvent(new Event('input')); })()"
    )
    page.wait_for("document.getElementById('state-view').dataset.seq === '1'")
    assert '"phase": "prepared"' in text(page, "#state-view")
    click(page, '#history-list li[data-seq="0"]')
    page.wait_for("document.getElementById('state-view').dataset.seq === '0'")
    assert text(page, "#state-view") == "(never written)"
    assert page.evaluate("document.getElementById('process-strip').dataset.marks") == ""
    page.screenshot(tmp_path / "state.png")

    # Fork from the tick where `prepare` returned: a new run, which `work` now completes.
    click(page, '#history-list li[data-seq="2"] .fork-button')
    forked: str = page.wait_for(
        # The hash changes before the page shows the new run: wait until the view is of the
        # run the hash names (else the old run's "completed" would answer).
        f"location.hash.startsWith('#/runs/') && location.hash !== {js('#/runs/' + run_id)}"
        " && document.getElementById('view-run').dataset.runId"
        "    === decodeURIComponent(location.hash.slice('#/runs/'.length))"
        " && document.getElementById('view-run').dataset.status === 'completed'"
        " && document.getElementById('view-run').dataset.runId"
    )
    assert forked.startswith(run_id + "-fork-")
    assert httpx.get(f"{server.url}/runs/{forked}").json()["result"] == "OK"
    assert_clean(page, server.url)


def test_a_crash_and_the_process_that_resumed_the_run_are_marked(
    start_server: ServerFactory, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        http.post("/workflows/greeter/runs", json={"run_id": "crashy"})
        wait_for_event(http, "crashy", "Question")
    before = envelopes.process_writer_id()
    first.stop()
    # The next server is another process as far as the journal can tell.
    monkeypatch.setattr(envelopes, "_writer", (os.getpid(), "other-host:4242:beef"))
    second = start_server()
    with httpx.Client(base_url=second.url, timeout=20) as http:
        answer = {"type": "Answer", "data": {"text": "Ada"}}
        assert http.post("/runs/crashy/events", json=answer).status_code == 202
        wait_for_status(http, "crashy", "completed")
        history = http.get("/runs/crashy/history").json()["entries"]
    writers = [entry["writer"] for entry in history]
    assert writers[0] == before and writers[-1] == "other-host:4242:beef"
    changed = writers.index("other-host:4242:beef")

    page = open_run(browser, second.url, "crashy")
    page.wait_for("document.getElementById('process-strip').dataset.marks")
    marks = page.evaluate(
        "[...document.querySelectorAll('#process-svg .marker')]"
        ".map((m) => [m.dataset.kind, m.dataset.seq, m.querySelector('title').textContent])"
    )
    assert [(kind, int(seq)) for kind, seq, _ in marks] == [
        ("crash", changed - 1),
        ("takeover", changed),
    ]
    assert "stopped without ending the run" in marks[0][2]
    assert "taken over by pid 4242 \u00b7 beef" in marks[1][2]
    names = page.evaluate(
        "[...document.querySelectorAll('#process-svg .process-name')].map((t) => t.textContent)"
    )
    assert len(names) == 2 and names[1] == "pid 4242 \u00b7 beef"
    tags = page.evaluate(
        f"[...document.querySelectorAll('#history-list li[data-seq=\"{changed}\"] .tag')]"
        ".map((t) => t.textContent)"
    )
    assert tags == ["takeover"]
    page.screenshot(tmp_path / "markers.png")
    assert_clean(page, second.url)


def seed_runs(path: Path, count: int) -> None:
    """``count`` finished ``greeter`` runs, ``run-00000`` the oldest."""

    async def migrate() -> None:
        store = store_from_url(f"sqlite:///{path}")
        await store.open()
        await store.close()

    asyncio.run(migrate())
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at)"
            " VALUES (?, 'greeter', 'completed', ?, ?)",
            [(f"run-{n:05d}", 1e6 + n, 1e6 + n) for n in range(count)],
        )
    db.close()


def test_the_run_list_is_paged_and_searched_by_the_server(
    tmp_path: Path, start_server: ServerFactory, browser: Browser
) -> None:
    path = tmp_path / "many.db"
    seed_runs(path, 120)
    server = start_server(store=f"sqlite:///{path}")
    page = browser.open(server.url + "/#/runs")
    page.wait_for("document.getElementById('run-rows').dataset.loaded")

    def shown() -> list[str]:
        ids: list[str] = page.evaluate(
            "[...document.querySelectorAll('#run-rows tr')].map((r) => r.dataset.runId)"
        )
        return ids

    assert shown() == [f"run-{n:05d}" for n in range(119, 69, -1)]
    assert page.evaluate("document.getElementById('runs-prev').disabled")
    click(page, "#runs-next")
    page.wait_for(
        "location.hash.includes('page=1') && document.querySelector('#run-rows tr')"
        ".dataset.runId === 'run-00069'"
    )
    assert shown() == [f"run-{n:05d}" for n in range(69, 19, -1)]
    click(page, "#runs-next")
    page.wait_for("document.querySelector('#run-rows tr').dataset.runId === 'run-00019'")
    assert len(shown()) == 20 and page.evaluate("document.getElementById('runs-next').disabled")
    assert "runs 101\u2013120" in text(page, "#runs-page")
    page.evaluate(
        "(() => { const q = document.getElementById('filter-text'); q.value = 'RUN-0011';"
        " q.dispatchEvent(new Event('change')); })()"
    )
    page.wait_for(
        "location.hash.includes('q=RUN-0011') && !location.hash.includes('page=')"
        " && document.querySelectorAll('#run-rows tr').length === 10"
    )
    assert shown() == [f"run-{n:05d}" for n in range(119, 109, -1)]
    page.screenshot(tmp_path / "runs-paged.png")
    assert_clean(page, server.url)
