"""``stepwork runs``: list, show, history, cancel and resume runs journaled in a store."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stepwork._cli import target as target_module
from stepwork._cli.app import app
from stepwork._server.live import detach
from stepwork.events import StepState, StepStateChanged

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLAIN_ENV: dict[str, str | None] = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": "1"}


@pytest.fixture(autouse=True)
def in_fixtures(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(FIXTURES)
    monkeypatch.syspath_prepend(str(FIXTURES))
    yield
    sys.modules.pop("journaled", None)
    target_module._LOADED_FILES.clear()


def invoke(*args: str) -> Result:
    return CliRunner(env=PLAIN_ENV).invoke(app, list(args))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store with runs ``done`` (completed), ``bad`` (failed) and ``stuck`` (left
    running in a step, as if its process had died)."""
    import journaled

    url = f"sqlite:///{tmp_path / 'runs.db'}"

    async def make() -> None:
        steps = journaled.Steps(store=url, workflow_name="steps")
        assert await steps.run(run_id="done") == "both halves"
        with pytest.raises(ValueError, match="out of halves"):
            await journaled.Breaks(store=url, workflow_name="breaks").run(run_id="bad")
        monkeypatch.setenv("JOURNALED_BLOCK", "1")
        handler = steps.run(run_id="stuck")
        async for event in handler.stream_events(expose_internal=True):
            if isinstance(event, StepStateChanged) and event.step_state is StepState.RUNNING:
                if event.name == "finish":
                    break
        detach(handler)
        monkeypatch.delenv("JOURNALED_BLOCK")
        assert steps.store is not None
        await steps.store.close()

    asyncio.run(make())
    return url


def rows(result: Result) -> list[list[str]]:
    return [line.split() for line in result.stdout.splitlines() if line.strip()]


def test_list_shows_every_run_newest_first(store: str) -> None:
    result = invoke("runs", "list", "--store", store)
    assert result.exit_code == 0, result.output
    table = rows(result)
    assert table[0][:3] == ["run", "workflow", "status"]
    listed = {row[0]: row for row in table[2:]}
    assert [row[0] for row in table[2:]] == ["stuck", "bad", "done"]
    assert listed["done"][1:3] == ["steps", "completed"]
    assert listed["stuck"][1:3] == ["steps", "running"]
    assert listed["bad"][1:3] == ["breaks", "failed"]
    assert "ValueError: out of halves" in " ".join(listed["bad"])
    only = invoke("runs", "list", "--store", store, "--status", "failed", "--json")
    assert [json.loads(line)["run_id"] for line in only.stdout.splitlines()] == ["bad"]


def test_show_gives_the_error_and_the_step_s_traceback(store: str) -> None:
    result = invoke("runs", "show", "bad", "--store", store)
    assert result.exit_code == 0, result.output
    assert "error      ValueError in step 'explode': out of halves" in result.stdout
    assert 'raise ValueError("out of halves")' in result.stderr
    done = invoke("runs", "show", "done", "--store", store, "--json")
    shown = json.loads(done.stdout)
    assert (shown["status"], shown["result"]["result"]) == ("completed", "both halves")


def test_history_says_what_each_tick_did(store: str) -> None:
    result = invoke("runs", "history", "done", "--store", store)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "run started with StartEvent" in text
    assert "invocation 0 returned 2 events (2 Half)" in text
    entries = [
        json.loads(line)
        for line in invoke(
            "runs", "history", "done", "--store", store, "--json"
        ).stdout.splitlines()
    ]
    assert entries[0]["kind"] == "start" and entries[0]["seq"] == 0
    assert entries[1]["summary"] == "invocation 0 returned 2 events (2 Half)"


def test_an_unknown_run_is_named(store: str) -> None:
    result = invoke("runs", "show", "nope", "--store", store)
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_resume_finishes_a_run_its_process_left(store: str) -> None:
    result = invoke("runs", "resume", "stuck", "--store", store, "--workflow", "journaled:Steps")
    assert (result.exit_code, result.stdout) == (0, "result: both halves\n"), result.output
    assert rows(invoke("runs", "list", "--store", store))[2][:3] == ["stuck", "steps", "completed"]


def test_cancel_records_the_cancel_and_refuses_an_ended_run(store: str) -> None:
    result = invoke("runs", "cancel", "stuck", "--store", store, "-w", "journaled.py:Steps")
    assert (result.exit_code, result.stdout) == (0, "run stuck cancelled\n"), result.output
    assert rows(invoke("runs", "list", "--store", store))[2][:3] == ["stuck", "steps", "cancelled"]
    again = invoke("runs", "cancel", "done", "--store", store, "-w", "journaled.py:Steps")
    assert again.exit_code == 2
    assert "has already ended (completed)" in again.stderr


def test_list_has_a_parent_column_and_show_lists_children(tmp_path: Path) -> None:
    from stepwork._stores.protocol import JournalBatch
    from stepwork._stores.sqlite import SqliteStore

    url = f"sqlite:///{tmp_path / 'family.db'}"

    async def make() -> None:
        async with SqliteStore(tmp_path / "family.db") as store:
            for run_id, at, parent in (("top", 1.0, None), ("top:a:0:1", 2.0, "top")):
                start = {"kind": "start", "at": at}
                await store.append(
                    JournalBatch(
                        run_id, 0, [start], workflow="w", created_at=at, parent_run_id=parent
                    )
                )
            await store.append(
                JournalBatch("top:b:0:2", 0, [{"kind": "start", "at": 3.0}], workflow="v",
                             created_at=3.0, parent_run_id="top", status="completed")
            )  # fmt: skip

    asyncio.run(make())
    table = rows(invoke("runs", "list", "--store", url))
    assert table[0][:4] == ["run", "workflow", "status", "parent"]
    assert [row[:4] for row in table[2:]] == [
        ["top:b:0:2", "v", "completed", "top"],
        ["top:a:0:1", "w", "running", "top"],
        ["top", "w", "running", "1970-01-01"],  # no parent: the next column follows
    ]
    children = invoke("runs", "list", "--store", url, "--parent", "top", "--json")
    listed = [json.loads(line) for line in children.stdout.splitlines()]
    assert [(r["run_id"], r["parent_run_id"]) for r in listed] == [
        ("top:b:0:2", "top"),
        ("top:a:0:1", "top"),
    ]
    shown = invoke("runs", "show", "top", "--store", url)
    assert shown.exit_code == 0, shown.output
    assert "children   top:a:0:1 (w, running)" in shown.stdout
    assert "           top:b:0:2 (v, completed)" in shown.stdout
    assert "parent" not in shown.stdout
    child = invoke("runs", "show", "top:a:0:1", "--store", url)
    assert "parent     top" in child.stdout
    as_json = json.loads(invoke("runs", "show", "top", "--store", url, "--json").stdout)
    assert as_json["parent_run_id"] is None
    assert [c["run_id"] for c in as_json["children"]] == ["top:a:0:1", "top:b:0:2"]
