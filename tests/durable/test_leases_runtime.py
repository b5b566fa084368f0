"""A durable run holds a lease: losing it stops the run's work at once and writes nothing more."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stepwork import Context, StartEvent, StopEvent, Workflow, step
from stepwork._core.errors import LeaseLostError, WorkflowConfigurationError
from stepwork._runtime.lease import PROCESS_OWNER, LeaseSettings
from stepwork._stores.sqlite import SqliteStore

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
