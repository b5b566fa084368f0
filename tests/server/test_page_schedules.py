"""The web page's Schedules section in headless Chromium: it lists the store's schedules and
pauses, resumes and deletes them through the API (waits are on the page's state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from test_page_browser import (  # it puts tests/drawing, with browser.py, on the path
    Browser,
    Page,
    assert_clean,
    browser,  # noqa: F401 (the fixture)
    click,
    js,
    open_page,
)


def rows(page: Page) -> list[list[str]]:
    found: list[list[str]] = page.evaluate(
        "[...document.querySelectorAll('#schedule-rows tr')].map((row) =>"
        " [row.dataset.schedule, row.dataset.state])"
    )
    return found


def reload_done(page: Page) -> None:
    page.wait_for("document.getElementById('schedule-rows').dataset.loaded === 'true'")


def test_schedules_are_listed_paused_resumed_and_deleted(
    server: Any,
    browser: Browser,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    for body in (
        {"name": "nightly", "workflow": "tally", "cron": "0 3 * * *", "tz": "Europe/Paris"},
        {"name": "often", "workflow": "tally", "every": 60, "start": {"add": 2}},
    ):
        assert httpx.post(server.url + "/schedules", json=body).status_code == 201
    page = open_page(browser, server.url, "#/schedules")
    reload_done(page)
    assert rows(page) == [["nightly", "active"], ["often", "active"]]
    cells = page.evaluate(
        "[...document.querySelectorAll('#schedule-rows tr:first-child td')]"
        ".map((cell) => cell.textContent)"
    )
    assert cells[:5] == ["nightly", "tally", "0 3 * * * (Europe/Paris)", "latest", "active"]
    page.screenshot(tmp_path / "schedules.png")

    click(page, "tr[data-schedule=often] button[data-action=pause]")
    page.wait_for("document.querySelector('tr[data-schedule=often]')?.dataset.state === 'paused'")
    assert httpx.get(server.url + "/schedules/often").json()["paused"] is True
    click(page, "tr[data-schedule=often] button[data-action=resume]")
    page.wait_for("document.querySelector('tr[data-schedule=often]')?.dataset.state === 'active'")
    assert httpx.get(server.url + "/schedules/often").json()["paused"] is False

    click(page, "tr[data-schedule=nightly] button[data-action=delete]")  # arms the button
    assert rows(page) == [["nightly", "active"], ["often", "active"]]
    click(page, "tr[data-schedule=nightly] button[data-action=delete]")  # confirms
    page.wait_for(f"!document.querySelector({js('tr[data-schedule=nightly]')})")
    assert [s["name"] for s in httpx.get(server.url + "/schedules").json()["schedules"]] == [
        "often"
    ]
    assert_clean(page, server.url)
