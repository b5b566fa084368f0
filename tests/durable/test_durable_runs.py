"""Durable runs in one process: journaling, resume_all, bad journals, unserialisable events."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stepwork import (
    Context,
    ContextStateError,
    Event,
    JournalCorruptError,
    MemoryStore,
    RunNotFoundError,
    SqliteStore,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowRuntimeError,
    step,
)
from stepwork._runtime.envelopes import process_writer_id
from stepwork.errors import StateSerializationError

sys.path.insert(0, str(Path(__file__).parent))

from continued_flow import Adds, idle
from continued_flow import Reply as AddsReply
from waiting_flow import Reply, Waits


class Half(Event):
    n: int


class Short(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Half:
        ctx.write_event_to_stream(Event(note="first"))
        return Half(n=ev.n)

    @step
    async def second(self, ev: Half) -> StopEvent:
        return StopEvent(result=ev.n * 2)


async def test_a_thousand_durable_runs_on_sqlite_lose_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "runs.db")
    workflow = Short(store=store, timeout=None)
    results = await asyncio.gather(*(workflow.run(run_id=f"r{i}", n=i) for i in range(1_000)))
    assert results == [i * 2 for i in range(1_000)]
    runs = await store.list_runs()
    assert len(runs) == 1_000 and {r.status for r in runs} == {"completed"}
    record = await store.get_run("r7")
    assert record.result["result"] == 14 and record.ticks == len(await store.load_ticks("r7"))
    await store.close()


def start_waiting_runs_then_kill(db: Path, script: str = "waiting_flow.py") -> None:
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / script), str(db)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


async def test_resume_all_continues_every_unfinished_run(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    start_waiting_runs_then_kill(db)

    workflow = Waits(store=f"sqlite:///{db}", timeout=None, workflow_name="waits")
    before = await workflow.history("w0")
    resumed = await workflow.resume_all()
    assert sorted(h.run_id for h in resumed) == ["w0", "w1", "w2"]
    for handler in resumed:
        await handler.send_event(Reply(n=int(handler.run_id[1:])))
    assert sorted(await asyncio.gather(*resumed)) == [0, 1, 2]

    # Each tick's envelope names the process that wrote it: the killed child, then this one.
    after = await workflow.history("w0")
    (child,) = {entry.writer for entry in before}
    assert child != process_writer_id() and child.split(":")[-2].isdigit()
    assert [entry.writer for entry in after[: len(before)]] == [child] * len(before)
    assert {entry.writer for entry in after[len(before) :]} == {process_writer_id()}
    # ... and the lease epoch it held: the child's first lease, then this process's takeover.
    assert {entry.epoch for entry in after[: len(before)]} == {1}
    assert {entry.epoch for entry in after[len(before) :]} == {2}


async def test_runs_from_carried_or_restored_state_resume_with_that_state(
    tmp_path: Path,
) -> None:
    # The state a run starts from is journaled with its first tick, so a resume after a crash
    # (and a replay) starts from it too, not from an empty state.
    db = tmp_path / "runs.db"
    start_waiting_runs_then_kill(db, "continued_flow.py")

    workflow = Adds(store=f"sqlite:///{db}", timeout=None, workflow_name="adds")
    resumed = {h.run_id: h for h in await workflow.resume_all()}
    assert sorted(resumed) == ["carried", "restored"]
    for handler in resumed.values():
        await handler.send_event(AddsReply(n=1))
    assert await resumed["carried"] == 101 and await resumed["restored"] == 201
    for run_id in ("carried", "restored"):
        report = await workflow.replay(run_id)
        assert report.agrees, report.problems
    history = await workflow.history("restored")
    assert history[0].summary == "run resumed from a restored or carried-over context"


async def test_load_context_carries_a_finished_runs_state_into_a_new_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    workflow = Adds(store=url, timeout=None, workflow_name="adds")
    assert await workflow.run(run_id="first", base=40) == "stored"
    again = workflow.run(ctx=await workflow.load_context("first"), run_id="again")
    await idle(again)  # waiting for the reply
    await again.send_event(AddsReply(n=2))
    assert await again == 42
    # In another process's view (a fresh workflow on the same file) the state is journaled.
    report = await Adds(store=url, timeout=None, workflow_name="adds").replay("again")
    assert report.agrees and report.state["state_data"]["data"] == {"base": 40}

    waiting = workflow.run(ctx=await workflow.load_context("first"), run_id="waiting")
    await idle(waiting)
    with pytest.raises(ContextStateError, match="'waiting' has not finished"):
        await workflow.load_context("waiting")
    await waiting.cancel_run()
    with pytest.raises(RunNotFoundError):
        await workflow.load_context("nobody")
    other = Short(store=workflow.store, timeout=None)
    assert await other.run(run_id="short", n=1) == 2
    with pytest.raises(ContextStateError, match="is a run of workflow"):
        await workflow.load_context("short")
    with pytest.raises(WorkflowRuntimeError, match="store"):
        await Adds().load_context("first")
    await workflow.store.close()


async def test_a_corrupt_journal_names_the_run_and_record_and_others_still_work(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.db"
    workflow = Short(store=f"sqlite:///{path}", timeout=None)
    assert await workflow.run(run_id="good", n=1) == 2
    assert await workflow.run(run_id="bad", n=2) == 4
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE ticks SET record = ? WHERE run_id = 'bad' AND seq = 1",
            (json.dumps({"kind": "teleport", "at": 1.0}),),
        )
    db.close()  # the with block commits; it does not close
    with pytest.raises(JournalCorruptError, match=r"run 'bad', tick record seq 1: .*teleport"):
        await Short(store=f"sqlite:///{path}", timeout=None).resume("bad")
    assert await Short(store=f"sqlite:///{path}", timeout=None).resume("good") == 2


async def test_resume_needs_a_store_and_an_existing_run() -> None:
    with pytest.raises(WorkflowRuntimeError, match="has no store"):
        Short().resume("x")
    with pytest.raises(RunNotFoundError):
        await Short(store=MemoryStore()).resume("missing")


async def test_an_event_that_cannot_be_journaled_fails_the_step_naming_the_field() -> None:
    class Opaque:
        pass

    class Bad(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=Opaque())

    with pytest.raises(StateSerializationError, match="result"):
        await Bad(store=MemoryStore()).run()


async def test_a_start_event_that_cannot_be_journaled_is_refused_by_run() -> None:
    class Opaque:
        pass

    workflow = Short(store=MemoryStore())
    context = Context(workflow)
    with pytest.raises(StateSerializationError, match=r"start\.start_event"):
        workflow.run(ctx=context, n=Opaque())
    assert not context.is_running
    assert await workflow.run(ctx=context, n=3) == 6
