"""``GET /runs`` pages and searches on the server: with 10,000 runs in SQLite, the first page
is one ``LIMIT`` query walking the ``created_at`` index (no sort of the whole table), later
pages go on with ``offset``, and ``q`` finds a run by a piece of its id or error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_helpers import error_of
from live_server import ServerFactory

from stepwork._stores import sqlite_reads
from stepwork._stores.url import store_from_url

RUNS = 10_000


def seed(path: Path) -> None:
    """10,000 finished runs of ``greeter`` (every 7th failed), created one second apart."""

    async def migrate() -> None:
        store = store_from_url(f"sqlite:///{path}")
        await store.open()
        await store.close()

    asyncio.run(migrate())
    error = json.dumps({"type": "ValueError", "message": "boom at 50%_x", "step": "greet"})
    rows = [
        (
            f"run-{n:05d}",
            "greeter",
            "failed" if n % 7 == 0 else "completed",
            1_000_000.0 + n,
            1_000_000.0 + n,
            error if n % 7 == 0 else None,
        )
        for n in range(RUNS)
    ]
    # ``with`` on a connection commits but does not close it (Python 3.13 warns of that).
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, error)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def test_ten_thousand_runs_are_paged_and_searched_in_the_store(
    tmp_path: Path, start_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.db"
    seed(path)
    queries: list[tuple[str, list[Any], str]] = []
    real = sqlite_reads.select_runs

    def watched(db: sqlite3.Connection, sql: str, params: Any) -> Any:
        plan = db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        queries.append((sql, list(params), " | ".join(str(row[-1]) for row in plan)))
        return real(db, sql, params)

    monkeypatch.setattr(sqlite_reads, "select_runs", watched)
    server = start_server(store=f"sqlite:///{path}")
    with httpx.Client(base_url=server.url, timeout=20) as http:
        queries.clear()  # whatever the server read at start
        first = http.get("/runs", params={"limit": 50}).json()["runs"]
        sql, params, plan = queries[-1]
        second = http.get("/runs", params={"limit": 50, "offset": 50}).json()["runs"]
        failed = http.get("/runs", params={"status": "failed", "limit": 3}).json()["runs"]
        found = http.get("/runs", params={"q": "RUN-0420"}).json()["runs"]
        by_error = http.get("/runs", params={"q": "50%_X", "limit": 2}).json()["runs"]
        literal = http.get("/runs", params={"q": "50%_y"}).json()["runs"]
        bad = http.get("/runs", params={"offset": -1})
    # The first page is the 50 newest runs, read with LIMIT through the created_at index.
    assert [run["run_id"] for run in first] == [f"run-{n:05d}" for n in range(9999, 9949, -1)]
    assert "LIMIT ? OFFSET ?" in sql and params[-2:] == [50, 0]
    assert "USING INDEX runs_by_created" in plan and "TEMP B-TREE" not in plan, plan
    assert [run["run_id"] for run in second] == [f"run-{n:05d}" for n in range(9949, 9899, -1)]
    assert [run["run_id"] for run in failed] == ["run-09996", "run-09989", "run-09982"]
    assert [run["run_id"] for run in found] == [f"run-0420{n}" for n in range(9, -1, -1)]
    # The error's text matches too; % and _ in the text are literal, not wildcards.
    assert [run["run_id"] for run in by_error] == ["run-09996", "run-09989"]
    assert literal == []
    assert bad.status_code == 422 and error_of(bad)["field"] == "offset"


def test_numbers_beyond_the_stores_reach_and_empty_names_are_refused(
    start_server: ServerFactory,
) -> None:
    # Found by the fuzz run: an offset past 2**63 - 1 reached SQLite and came back as a 500.
    server = start_server()
    huge = str(2**63)
    with httpx.Client(base_url=server.url, timeout=20) as http:
        refused = {
            "offset": http.get("/runs", params={"offset": huge}),
            "workflow": http.get("/runs", params={"workflow": ""}),
            "after": http.get("/runs/nope/events", params={"after": huge}),
            "Last-Event-ID": http.get("/runs/nope/events", headers={"Last-Event-ID": huge}),
        }
        largest = http.get("/runs", params={"offset": str(2**63 - 1)})
    for field, response in refused.items():
        assert response.status_code == 422, (field, response.text)
        assert error_of(response)["field"] == field
    assert largest.status_code == 200 and largest.json() == {"runs": []}
