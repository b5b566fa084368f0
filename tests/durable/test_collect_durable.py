"""``ctx.collect_events`` on a durable run: answered from the reducer, after the tick is stored.

A step on the loop's thread gets its answer at once (a synchronous call cannot wait for the
store); a step in a worker thread gets it only once its collect tick is written.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step


class Part(Event):
    n: int


class AsyncGather(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Part]:
        return [Part(n=1), Part(n=2), Part(n=3)]

    @step
    async def gather(self, ctx: Context, ev: Part) -> StopEvent | None:
        got = ctx.collect_events(ev, [Part, Part, Part])
        return None if got is None else StopEvent(result=sorted(p.n for p in got))


async def _kinds(workflow: Workflow, run_id: str) -> list[str]:
    assert workflow.store is not None
    return [record["kind"] for record in await workflow.store.load_ticks(run_id)]


async def test_a_durable_fan_in_collects_on_the_loop_thread(tmp_path: Path) -> None:
    workflow = AsyncGather(store=f"sqlite:///{tmp_path / 'runs.db'}", timeout=30)
    assert await workflow.run(run_id="c1") == [1, 2, 3]
    assert (await _kinds(workflow, "c1")).count("collect") == 3
    assert await workflow.resume("c1") == [1, 2, 3]  # the stored run folds to the same end


def _stored_collects(path: Path, run_id: str) -> int:
    """Collect ticks of ``run_id`` in the SQLite file, read over a connection of our own."""
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        rows = db.execute("SELECT record FROM ticks WHERE run_id = ?", (run_id,)).fetchall()
    return sum(json.loads(record)["kind"] == "collect" for (record,) in rows)


class ThreadGather(Workflow):
    """A sync collector: it runs in a worker thread, which can wait for the store."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(store=f"sqlite:///{path}", **kwargs)
        self.path = path
        self.seen: list[tuple[int, list[int] | None, int]] = []

    @step
    async def fan(self, ev: StartEvent) -> list[Part]:
        return [Part(n=1), Part(n=2), Part(n=3)]

    @step(num_workers=3)
    def gather(self, ctx: Context, ev: Part) -> StopEvent | None:
        got = ctx.collect_events(ev, [Part, Part, Part])
        numbers = None if got is None else sorted(p.n for p in got)
        # What the store holds at the moment the answer arrives.
        self.seen.append((ev.n, numbers, _stored_collects(self.path, "t1")))
        return None if numbers is None else StopEvent(result=numbers)


async def test_a_thread_step_is_answered_only_once_its_collect_tick_is_written(
    tmp_path: Path,
) -> None:
    workflow = ThreadGather(tmp_path / "runs.db", timeout=30)
    assert await workflow.run(run_id="t1") == [1, 2, 3]
    # Each answer arrived after its own collect tick was stored (ticks that arrive together
    # are written together, so an early answer may see later ticks too): the one that
    # released the three parts saw all three collects in the file.
    (released,) = [stored for _, numbers, stored in workflow.seen if numbers is not None]
    assert released == 3
    assert all(stored >= 1 for _, _, stored in workflow.seen), workflow.seen
