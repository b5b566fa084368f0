"""Schedules in every store (``store.schedules``): add, list, pause, resume, delete, and firing
a slot exactly once, including between two store objects on one database racing for it."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from stepwork._core.errors import (
    CronSyntaxError,
    ScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    StoreError,
)
from stepwork._core.schedule_slots import slot_run_id
from stepwork._stores.memory import MemoryStore
from stepwork._stores.protocol import JournalBatch
from stepwork._stores.schedule_protocol import (
    SLOTS_KEPT,
    Schedule,
    ScheduleRecord,
    ScheduleStore,
    schedules_of,
)
from stepwork._stores.sqlite import SqliteStore

from .conftest import BACKENDS


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=BACKENDS)
async def stores(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Clock, Callable[[], Any]]]:
    """A clock and a factory of open stores on one empty database, all reading that clock."""
    clock = Clock(1_000_000.0)
    made: list[Any] = []
    memory = MemoryStore(clock=clock)

    async def make() -> Any:
        if request.param == "memory":
            store: Any = memory
        elif request.param == "sqlite":
            store = SqliteStore(request.getfixturevalue("tmp_path") / "runs.db", clock=clock)
        else:
            postgres = importlib.import_module("stepwork._stores.postgres")
            store = postgres.PostgresStore(request.getfixturevalue("postgres_dsn"), clock=clock)
        await store.open()
        made.append(store)
        return store

    yield clock, make
    for store in made:
        await store.close()


def start_batch(record: ScheduleRecord, slot: int, now: float) -> JournalBatch:
    run_id = slot_run_id(record.name, slot)
    tick = {"kind": "start", "at": now, "run_id": run_id, "start_event": None, "timeout": None}
    return JournalBatch(
        run_id, 0, [tick], workflow=record.schedule.workflow, created_at=now, runnable_at=now
    )


async def test_add_get_list_pause_resume_delete(stores: Any) -> None:
    clock, make = stores
    store = await make()
    schedules = schedules_of(store)
    assert isinstance(schedules, ScheduleStore)
    added = await schedules.add(
        Schedule("nightly", "report", cron="0 3 * * *", start={"n": 1}, tz="Europe/Paris")
    )
    await schedules.add(Schedule("fast", "poll", every=timedelta(seconds=10), missed="all"))
    assert added.cursor == 1_000_000_000 and not added.paused
    assert added.next_at == added.schedule.slot_after(added.cursor)
    got = await schedules.get("nightly")
    assert got == added and got.schedule.start == {"n": 1} and got.schedule.tz == "Europe/Paris"
    assert [r.name for r in await schedules.list()] == ["fast", "nightly"]
    assert [r.name for r in await schedules.list(["poll"])] == ["fast"]
    assert (await schedules.get("fast")).schedule.every == timedelta(seconds=10)

    with pytest.raises(ScheduleExistsError, match="exists already"):
        await schedules.add(Schedule("nightly", "report", every=60))
    for missing in (schedules.get, schedules.pause, schedules.resume):
        with pytest.raises(ScheduleNotFoundError, match="No schedule 'nope'"):
            await missing("nope")

    clock.now += 30
    paused = await schedules.pause("fast")
    assert paused.paused and paused.next_at is None
    assert await schedules.next_due(["poll"]) is None
    assert await schedules.due(10**13, ["poll"]) == []
    clock.now += 100  # ten slots pass while paused: none of them is due after resume
    resumed = await schedules.resume("fast")
    assert not resumed.paused and resumed.cursor == 1_000_130_000
    assert resumed.next_at == 1_000_140_000 == await schedules.next_due(["poll"])
    assert await schedules.resume("fast") == resumed  # no-op

    assert await schedules.delete("fast")
    assert not await schedules.delete("fast")
    assert [r.name for r in await schedules.list()] == ["nightly"]


async def test_a_slot_fires_once_and_the_cursor_only_moves_forward(stores: Any) -> None:
    clock, make = stores
    store = await make()
    schedules = schedules_of(store)
    record = await schedules.add(Schedule("tick", "flow", every=1, start={}))
    slot = record.next_at
    assert await schedules.due(slot - 1, ["flow"]) == []
    assert [r.name for r in await schedules.due(slot, ["flow"])] == ["tick"]
    clock.now += 1
    assert await schedules.fire(record, slot, slot + 1000, start_batch(record, slot, clock.now))
    run = await store.get_run(slot_run_id("tick", slot))
    assert run.workflow == "flow" and run.status == "running" and run.runnable_at == clock.now
    assert len(await store.load_ticks(run.run_id)) == 1
    # The same slot again, or an older one: nothing happens.
    assert not await schedules.fire(record, slot, slot + 1000, start_batch(record, slot, 0))
    assert not await schedules.fire(record, slot - 1000, slot, None)
    after = await schedules.get("tick")
    assert (after.cursor, after.next_at, after.last_slot) == (slot, slot + 1000, slot)
    assert after.last_run == run.run_id
    # Skipping a slot moves the cursor without a run.
    assert await schedules.fire(after, slot + 1000, slot + 2000, None)
    assert (await schedules.get("tick")).last_slot == slot
    assert len(await store.list_runs()) == 1
    # A paused schedule does not fire, nor one deleted and added again under its name.
    await schedules.pause("tick")
    assert not await schedules.fire(after, slot + 2000, slot + 3000, None)
    await schedules.delete("tick")
    again = await schedules.add(Schedule("tick", "flow", every=1))
    assert not await schedules.fire(after, slot + 5000, slot + 6000, None)
    # The re-added schedule meets a run of its slot's id: the slot counts, no second run.
    old = slot_run_id("tick", slot)
    reused = again.cursor + 1
    batch = start_batch(again, reused, clock.now)
    batch = JournalBatch(old, 0, batch.ticks, workflow="flow", created_at=clock.now)
    assert await schedules.fire(again, reused, reused + 1000, batch)
    assert len(await store.list_runs()) == 1 and (await schedules.get("tick")).last_run == old


async def test_two_processes_racing_for_one_slot_start_one_run(stores: Any) -> None:
    clock, make = stores
    first, second = await make(), await make()  # memory: one store, racing coroutines
    record = await schedules_of(first).add(Schedule("race", "flow", every=1))
    slots = [record.schedule.slot_after(record.cursor + 1000 * n) for n in range(20)]
    outcomes = []
    for slot in slots:
        clock.now = slot / 1000
        batch = start_batch(record, slot, clock.now)
        outcomes.append(
            await asyncio.gather(
                schedules_of(first).fire(record, slot, slot + 1000, batch),
                schedules_of(second).fire(record, slot, slot + 1000, batch),
            )
        )
    assert all(sorted(pair) == [False, True] for pair in outcomes)
    runs = await first.list_runs()
    assert sorted(run.run_id for run in runs) == sorted(slot_run_id("race", s) for s in slots)


async def test_old_slots_are_pruned(stores: Any) -> None:
    _, make = stores
    store = await make()
    schedules = schedules_of(store)
    record = await schedules.add(Schedule("many", "flow", every=1))
    slot = record.next_at
    for n in range(SLOTS_KEPT + 5):
        current = slot + 1000 * n
        assert await schedules.fire(
            record, current, current + 1000, start_batch(record, current, 0)
        )
    assert len(await store.list_runs()) == SLOTS_KEPT + 5  # runs stay; only slot rows go


async def test_watchers_hear_changes_made_through_the_store(stores: Any) -> None:
    _, make = stores
    store = await make()
    schedules = schedules_of(store)
    heard = asyncio.Event()
    async with schedules.watch(heard.set):
        await schedules.add(Schedule("w", "flow", every=5))
        await asyncio.wait_for(heard.wait(), 10)
        heard.clear()
        await schedules.pause("w")
        await asyncio.wait_for(heard.wait(), 10)


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"cron": "* * *"}, CronSyntaxError, "needs 5"),
        ({"cron": "0 25 * * *"}, CronSyntaxError, "hour field"),
        ({}, ScheduleError, "exactly one of cron= .* or every="),
        ({"cron": "@daily", "every": 5}, ScheduleError, "exactly one"),
        ({"every": 0.5}, ScheduleError, "at least 1 second"),
        ({"every": 5, "missed": "sometimes"}, ScheduleError, "missed='sometimes'"),
        ({"cron": "@daily", "tz": "Mars/Olympus"}, ScheduleError, "unknown time zone"),
        ({"every": 5, "start": {"x": float("nan")}}, ScheduleError, "JSON values"),
        ({"every": 5, "name": "bad name"}, ScheduleError, "must match"),
        ({"every": 5, "workflow": ""}, ScheduleError, "needs a workflow"),
    ],
)
def test_bad_schedules_are_refused_with_what_to_fix(
    arguments: dict[str, Any], error: type[Exception], words: str
) -> None:
    given = {"name": "s", "workflow": "flow", **arguments}
    with pytest.raises(error, match=words):
        Schedule(**given)


def test_a_store_without_schedules_says_so() -> None:
    with pytest.raises(StoreError, match="keeps no schedules"):
        schedules_of(object())
