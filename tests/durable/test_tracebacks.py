"""A failed step's traceback is journaled with its error, and read back after a resume.

Journals written before tracebacks were kept (no ``traceback`` in the ``step_failed`` record
or in the run's error) still load, resume and report their error.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from stepwork import (
    SqliteStore,
    StartEvent,
    StopEvent,
    Workflow,
    retry_policy,
    step,
    stop_after_attempt,
    wait_fixed,
)
from stepwork._runtime.durable import JOURNALED_TRACEBACK_NOTE
from stepwork._runtime.tracebacks import TRACEBACK_LIMIT, format_traceback


def check_the_order(order: str) -> None:
    raise ValueError(f"order {order} is not in stock")


class Orders(Workflow):
    @step
    async def check(self, ev: StartEvent) -> StopEvent:
        check_the_order(ev.order)
        return StopEvent(result="ok")


class Flaky(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(2)))
    async def call(self, ev: StartEvent) -> StopEvent:
        raise ConnectionError("down")


def assert_the_steps_traceback(text: object) -> None:
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "    check_the_order(ev.order)" in lines
    assert '    raise ValueError(f"order {order} is not in stock")' in lines
    assert lines[-1] == "ValueError: order pen is not in stock"


async def test_the_traceback_is_journaled_and_a_resumed_run_raises_it_as_a_note(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "runs.db")
    live = Orders(store=store, timeout=None)
    with pytest.raises(ValueError, match="order pen is not in stock") as raised:
        await live.run(run_id="o1", order="pen")
    assert raised.value.__traceback__ is not None  # the step's own exception, raised live
    assert not getattr(raised.value, "__notes__", None)
    failed = [t for t in await store.load_ticks("o1") if t["kind"] == "step_failed"]
    assert [t["step"] for t in failed] == ["check"]
    assert_the_steps_traceback(failed[0]["traceback"])
    run = await store.get_run("o1")
    assert run.error is not None and run.error["traceback"] == failed[0]["traceback"]

    again = Orders(store=SqliteStore(tmp_path / "runs.db"), timeout=None)
    with pytest.raises(ValueError, match="order pen is not in stock") as resumed:
        await again.resume("o1")
    notes = getattr(resumed.value, "__notes__", [])
    assert len(notes) == 1 and notes[0].startswith(JOURNALED_TRACEBACK_NOTE + "\n")
    assert_the_steps_traceback(notes[0].removeprefix(JOURNALED_TRACEBACK_NOTE + "\n"))
    for each in (store, again.store):
        assert each is not None
        await each.close()


async def test_a_journal_written_before_tracebacks_were_kept_still_resumes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.db"
    workflow = Orders(store=SqliteStore(path), timeout=None)
    with pytest.raises(ValueError):
        await workflow.run(run_id="old", order="pen")
    assert workflow.store is not None
    await workflow.store.close()
    with sqlite3.connect(path) as db:  # as an older stepwork wrote it
        for seq, text in db.execute("SELECT seq, record FROM ticks WHERE run_id = 'old'"):
            record = json.loads(text)
            record.pop("traceback", None)
            db.execute(
                "UPDATE ticks SET record = ? WHERE run_id = 'old' AND seq = ?",
                (json.dumps(record), seq),
            )
        (error,) = db.execute("SELECT error FROM runs WHERE run_id = 'old'").fetchone()
        older = {k: v for k, v in json.loads(error).items() if k != "traceback"}
        db.execute("UPDATE runs SET error = ? WHERE run_id = 'old'", (json.dumps(older),))
    db.close()

    again = Orders(store=SqliteStore(path), timeout=None)
    with pytest.raises(ValueError, match="order pen is not in stock") as resumed:
        await again.resume("old")
    assert not getattr(resumed.value, "__notes__", None)
    assert again.store is not None
    record = await again.store.get_run("old")
    assert record.error == {"type": "ValueError", "message": older["message"], "step": "check"}
    await again.store.close()


async def test_every_failed_attempt_journals_its_traceback(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "runs.db")
    with pytest.raises(ConnectionError, match="down"):
        await Flaky(store=store, timeout=None).run(run_id="f1")
    failed = [t for t in await store.load_ticks("f1") if t["kind"] == "step_failed"]
    assert [t["retry_delay"] for t in failed] == [0.0, None]
    for tick in failed:
        assert tick["traceback"].splitlines()[-1] == "ConnectionError: down"
        assert '    raise ConnectionError("down")' in tick["traceback"].splitlines()
    await store.close()


def test_a_long_traceback_keeps_its_end_and_an_unraised_error_has_none() -> None:
    try:
        raise ValueError("x" * (2 * TRACEBACK_LIMIT) + " the end")
    except ValueError as error:
        text = format_traceback(error)
    assert text is not None and text.startswith("[... ")
    assert "characters of the traceback left out ...]\n" in text
    assert text.endswith(" the end\n")
    assert len(text) < TRACEBACK_LIMIT + 100
    assert format_traceback(ValueError("made, never raised")) is None
