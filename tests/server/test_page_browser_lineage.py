"""A run's page links to its parent run and lists its child runs with their status, in
headless Chromium against a real server on 127.0.0.1; every wait is on the page's state."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lineage_workflows import lineage_workflows
from live_server import ServerFactory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "drawing"))

from browser import Browser, chromium_path  # tests/drawing, put on the path just above


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module's tests."""
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/test-deps.sh installs it")
        pytest.skip("chromium is not installed (scripts/test-deps.sh installs it)")
    with Browser.launch() as running:
        yield running


def test_a_run_page_links_parent_and_children(
    start_server: ServerFactory, browser: Browser, tmp_path: Path
) -> None:
    server = start_server(workflows=lineage_workflows())
    body = {"input": {"amount": 3}, "wait": True, "run_id": "p1"}
    assert httpx.post(f"{server.url}/workflows/checkout/runs", json=body).status_code == 200
    page = browser.open(f"{server.url}/#/runs/p1")
    assert page.wait_for("document.body.dataset.ready") == "true"
    child = "p1:pay:0:0"
    row = f"#run-children li[data-run-id={json.dumps(child)}]"
    page.wait_for(f"document.querySelector({json.dumps(row)})")
    assert page.evaluate(f"document.querySelector({json.dumps(row)}).dataset.status") == (
        "completed"
    )
    assert page.evaluate(f"document.querySelector({json.dumps(row)}).textContent") == (
        f"{child} charge completed"
    )
    assert page.evaluate("document.getElementById('run-parent')") is None
    page.screenshot(tmp_path / "parent.png")
    # The child's link opens the child's page, which links back to its parent.
    page.evaluate(f"document.querySelector({json.dumps(row + ' a')}).click()")
    page.wait_for(
        f"document.getElementById('view-run').dataset.runId === {json.dumps(child)}"
        " && document.querySelector('#run-parent a')"
    )
    assert page.evaluate("document.querySelector('#run-parent a').textContent") == "p1"
    assert page.evaluate("document.querySelector('#run-children')") is None
    page.screenshot(tmp_path / "child.png")
    page.evaluate("document.querySelector('#run-parent a').click()")
    page.wait_for("document.getElementById('view-run').dataset.runId === 'p1'")
    assert not page.errors, page.errors
