"""A durable run holds a lease: losing it stops the run's work at once and writes nothing more."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork._core.errors import LeaseLostError, WorkflowConfigurationError
from stepwork._runtime.lease import PROCESS_OWNER, LeaseSettings
from stepwork._stores.sqlite import SqliteStore
from stepwork._stores.sqlite_lease_sql import claim_run

entered = asyncio.Event()
cancelled: list[str] = []


class Blocked(Workflow):
    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("wait")
            raise
        return StopEvent(result="never")


async def test_a_taken_over_run_stops_at_once_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPWORK_LEASE_TTL", "5")
    monkeypatch.setenv("STEPWORK_LEASE_HEARTBEAT", "0.05")
    db = tmp_path / "runs.db"
    entered.clear()
    cancelled.clear()
    handler = Blocked(store=f"sqlite:///{db}", timeout=None).run()
    await entered.wait()
    async with SqliteStore(db) as other:  # another process takes the run over
        before = await other.get_run(handler.run_id)
        assert (before.owner, before.epoch) == (PROCESS_OWNER, 1)
        taken = await other.claim_run(handler.run_id, "other", 30, take_from=PROCESS_OWNER)
        assert taken is not None and taken.epoch == 2
        with pytest.raises(LeaseLostError):
            await handler  # the next heartbeat finds the lease gone
        assert cancelled  # its step task was cancelled
        after = await other.get_run(handler.run_id)
        assert (after.ticks, after.events, after.status) == (before.ticks, before.events, "running")
        assert after.owner == "other"


def test_lease_settings_refuse_a_heartbeat_not_shorter_than_the_lease() -> None:
    with pytest.raises(WorkflowConfigurationError, match="shorter than the lease"):
        LeaseSettings(ttl=3, heartbeat=3)
    with pytest.raises(WorkflowConfigurationError, match="number of seconds"):
        LeaseSettings.from_env({"STEPWORK_LEASE_TTL": "ten"})
    assert LeaseSettings.from_env({}) == LeaseSettings(ttl=10.0, heartbeat=3.0)


ran: list[str] = []
go = asyncio.Event()
stalled: dict[str, str] = {}  # the run's database file and id


class Middle(Event):
    pass


class Stalls(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Middle:
        await go.wait()  # the run's row is stored
        return Middle()

    @step
    async def a_stall(self, ev: Middle) -> None:
        # Started just before `second`: the whole process stalls past its lease (CPU starved,
        # swapped out, a blocking call), so no heartbeat runs, and meanwhile another process
        # takes the run over. A blocking sleep is the stall itself, not a wait.
        time.sleep(0.4)  # noqa: ASYNC251
        with contextlib.closing(sqlite3.connect(stalled["db"], isolation_level=None)) as db:
            assert claim_run(db, stalled["run"], "other", 30, time.time()) is not None

    @step
    async def second(self, ev: Middle) -> StopEvent:
        ran.append("second")
        return StopEvent(result="ran")


async def test_a_process_that_stalled_past_its_lease_starts_no_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by tests/workers/test_chaos.py: a worker stalled past its lease, another took the
    # run over and journaled a step's result, then the stalled one started that step again.
    monkeypatch.setenv("STEPWORK_LEASE_TTL", "0.3")
    monkeypatch.setenv("STEPWORK_LEASE_HEARTBEAT", "0.1")
    db = tmp_path / "runs.db"
    ran.clear()
    go.clear()
    handler = Stalls(store=f"sqlite:///{db}", timeout=None).run()
    stalled.update(db=str(db), run=handler.run_id)
    assert handler.driver is not None and handler.driver.journal is not None
    await handler.driver.journal.written(1)
    go.set()
    with pytest.raises(LeaseLostError):
        await handler
    assert ran == []  # its lease lapsed before `second` could start: it did not start it
    async with SqliteStore(db) as other:
        run = await other.get_run(handler.run_id)
        assert (run.owner, run.epoch) == ("other", 2)
