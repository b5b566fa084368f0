"""The schedule firer under a virtual clock: missed-slot policies, pause/resume/delete, start
arguments, and waking at once when a schedule is added."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from stepwork import Context, StartEvent, StopEvent, Workflow, step
from stepwork._core.schedule_slots import CATCH_UP_LIMIT, SKIP_GRACE_MS, slot_run_id
from stepwork._runtime.schedule_firer import ScheduleFirer
from stepwork._runtime.worker import Worker
from stepwork._stores.memory import MemoryStore
from stepwork._stores.schedule_protocol import Schedule, schedules_of
from stepwork._stores.sqlite import SqliteStore

T0 = 1_800_000_000.0  # a whole minute


class Echo(Workflow):
    @step
    async def echo(self, ctx: Context, ev: StartEvent) -> StopEvent:
        return StopEvent(result=ev.n)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def setup(store_class: Any = MemoryStore, **kwargs: Any) -> tuple[Clock, Any, ScheduleFirer]:
    clock = Clock()
    store = store_class(clock=clock, **kwargs)
    flow = Echo(workflow_name="echo", timeout=None)
    return clock, store, ScheduleFirer({"echo": flow}, store, poll=3600.0, clock=clock)


async def scheduled_runs(store: Any) -> list[str]:
    return sorted(run.run_id for run in await store.list_runs())


def minute(n: int) -> str:
    return slot_run_id("every-minute", int((T0 + 60 * n) * 1000))


@pytest.mark.parametrize(
    ("missed", "late", "expected"),
    [
        ("latest", 1, [minute(10)]),
        ("all", 1, [minute(n) for n in range(1, 11)]),
        ("skip", 1, [minute(10)]),  # the latest slot is on time
    ],
)
async def test_missed_slot_policies(missed: Any, late: int, expected: list[str]) -> None:
    clock, store, firer = setup()
    await store.schedules.add(
        Schedule("every-minute", "echo", every=60, start={"n": 1}, missed=missed)
    )
    clock.now = T0 + 600 + late  # ten slots passed while nothing ran
    assert await firer.fire_due() == pytest.approx(60 - late)  # sleeps until the next slot
    assert await scheduled_runs(store) == expected
    record = await store.schedules.get("every-minute")
    assert record.cursor == (T0 + 600) * 1000 and record.next_at == (T0 + 660) * 1000
    clock.now = T0 + 660  # the next slot fires on time under every policy
    await firer.fire_due()
    assert (await scheduled_runs(store))[-1] == minute(11)
    assert firer.fired == len(expected) + 1


async def test_skip_drops_a_slot_more_than_a_minute_late() -> None:
    clock, store, firer = setup()
    await store.schedules.add(Schedule("hourly", "echo", cron="@hourly", missed="skip"))
    clock.now = T0 + 3 * 3600 + SKIP_GRACE_MS / 1000 + 1
    await firer.fire_due()
    assert await scheduled_runs(store) == []
    record = await store.schedules.get("hourly")
    assert (record.cursor, record.next_at) == ((T0 + 3 * 3600) * 1000, (T0 + 4 * 3600) * 1000)
    clock.now = T0 + 4 * 3600 + 30  # on time again
    await firer.fire_due()
    assert await scheduled_runs(store) == [slot_run_id("hourly", int((T0 + 4 * 3600) * 1000))]


async def test_catching_up_all_is_bounded_to_the_most_recent_slots() -> None:
    clock, store, firer = setup()
    await store.schedules.add(Schedule("every-minute", "echo", every=60, missed="all"))
    clock.now = T0 + 60 * (CATCH_UP_LIMIT + 50) + 1
    await firer.fire_due()
    assert await scheduled_runs(store) == [minute(n) for n in range(51, CATCH_UP_LIMIT + 51)]


async def test_pause_resume_delete() -> None:
    clock, store, firer = setup()
    schedules = schedules_of(store)
    await schedules.add(Schedule("every-minute", "echo", every=60, missed="all"))
    clock.now = T0 + 61
    await firer.fire_due()
    await schedules.pause("every-minute")
    clock.now = T0 + 300
    assert await firer.fire_due() == 3600.0  # nothing due: back at the poll
    assert await scheduled_runs(store) == [minute(1)]
    await schedules.resume("every-minute")  # the paused slots are not caught up
    clock.now = T0 + 360
    await firer.fire_due()
    assert await scheduled_runs(store) == [minute(1), minute(6)]
    await schedules.delete("every-minute")
    clock.now = T0 + 3600
    await firer.fire_due()
    assert await scheduled_runs(store) == [minute(1), minute(6)]


async def test_start_arguments_reach_the_run_and_bad_ones_skip_the_slot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, store, firer = setup()
    await store.schedules.add(Schedule("every-minute", "echo", every=60, start={"n": 7}))
    await store.schedules.add(Schedule("other", "not-served-here", every=60))
    clock.now = T0 + 60
    await firer.fire_due()
    ticks = await store.load_ticks(minute(1))
    assert ticks[0]["start_event"]["data"] == {"n": 7}
    assert ticks[0]["env"]["meta"] == {"schedule": "every-minute"}
    assert (await store.get_run(minute(1))).runnable_at == T0 + 60
    assert (await store.schedules.get("other")).last_run is None  # another worker's workflow

    class Strict(StartEvent):
        n: int

    class StrictFlow(Workflow):
        @step
        async def go(self, ev: Strict) -> StopEvent:
            return StopEvent(result=ev.n)

    strict = ScheduleFirer({"strict": StrictFlow(workflow_name="strict")}, store, clock=clock)
    await store.schedules.add(Schedule("typo", "strict", every=60, start={"m": 1}))
    clock.now = T0 + 120
    await strict.fire_due()
    assert "schedule 'typo': slot" in caplog.text and "skipped" in caplog.text
    record = await store.schedules.get("typo")
    assert record.last_run is None and record.cursor == (T0 + 120) * 1000  # moved past it


async def test_a_worker_fires_a_schedule_added_while_it_sleeps(tmp_path: Any) -> None:
    store = SqliteStore(tmp_path / "runs.db")
    flow = Echo(workflow_name="echo", timeout=None)
    worker = Worker([flow], store, poll=30.0)  # only a wake-up can make it fire in time
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await store.open()
        await asyncio.sleep(0.05)  # let the worker reach its wait (timing only, not the check)
        record = await store.schedules.add(
            Schedule("fast", "echo", every=timedelta(seconds=1), start={"n": 3})
        )
        run_id = slot_run_id("fast", record.next_at or 0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            runs = {run.run_id: run for run in await store.list_runs()}
            if run_id in runs and runs[run_id].status == "completed":
                break
            await asyncio.sleep(0.05)
        assert runs[run_id].status == "completed" and runs[run_id].result["result"] == 3
    finally:
        stop.set()
        await task
        await store.close()
