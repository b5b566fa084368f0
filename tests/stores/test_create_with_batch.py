"""A batch that creates its run stores the run's row with its records, or nothing at all, on
every backend: no run is ever stored without its start tick."""

from __future__ import annotations

import pytest

from stepwork._core.errors import JournalConflictError, RunNotFoundError
from stepwork._stores.protocol import JournalBatch, Store

START = {"kind": "start", "at": 1.0}
EVENT = {"__model__": "x.Ev", "data": {}}


def _creating(run_id: str, first_seq: int = 0, first_offset: int = 0) -> JournalBatch:
    return JournalBatch(
        run_id, first_seq, [START], first_offset, [EVENT], workflow="flow", created_at=5.0
    )


async def test_a_creating_batch_stores_the_run_with_its_records(store: Store) -> None:
    await store.append(_creating("r1"))
    record = await store.get_run("r1")
    assert (record.workflow, record.status, record.created_at) == ("flow", "running", 5.0)
    assert (record.ticks, record.events) == (1, 1)
    assert await store.load_ticks("r1") == [START]
    assert await store.load_events("r1") == [(0, EVENT)]
    assert [run.run_id for run in await store.list_runs(status=["running"])] == ["r1"]


async def test_a_creating_batch_that_does_not_fit_stores_no_run(store: Store) -> None:
    for bad in (_creating("r1", first_seq=1), _creating("r1", first_offset=2)):
        with pytest.raises(JournalConflictError):
            await store.append(bad)
        with pytest.raises(RunNotFoundError):
            await store.get_run("r1")
    assert await store.list_runs() == []


async def test_creating_a_run_that_exists_changes_nothing(store: Store) -> None:
    await store.append(_creating("r1"))
    with pytest.raises(JournalConflictError) as caught:
        await store.append(_creating("r1"))
    assert caught.value.run_id == "r1"
    record = await store.get_run("r1")
    assert (record.ticks, record.events) == (1, 1)
