"""A damaged journal through the Python API: resume, history and fork name the record.

The memory store is damaged through its dicts (``tests/stores/vandal.py``), the way the
conformance tests damage it; SQLite and PostgreSQL are damaged over HTTP in
``tests/server/test_http_corrupt.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from stepwork import (
    Context,
    Event,
    JournalCorruptError,
    MemoryStore,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork._stores.protocol import JournalBatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stores.vandal import delete_row, write_row


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


async def test_a_run_without_its_start_tick_is_never_resumed() -> None:
    store = MemoryStore()
    workflow = Short(store=store, timeout=None)
    assert await workflow.run(run_id="hurt", n=1) == 2
    await delete_row(store, "hurt", "ticks", 0)
    with pytest.raises(JournalCorruptError, match="tick record seq 0: it is missing") as caught:
        await Short(store=store, timeout=None).resume("hurt")
    assert (caught.value.run_id, caught.value.record, caught.value.seq) == ("hurt", "tick", 0)

    await store.create_run("empty", workflow.workflow_name, created_at=1.0)  # no tick at all
    with pytest.raises(JournalCorruptError, match="start tick is not there \\(no tick at all\\)"):
        await Short(store=store, timeout=None).resume("empty")


async def test_history_names_a_bad_tick_and_a_fork_from_before_it_works() -> None:
    store = MemoryStore()
    workflow = Short(store=store, timeout=None)
    assert await workflow.run(run_id="hurt", n=3) == 6
    ticks = len(await workflow.history("hurt"))
    await write_row(store, "hurt", "ticks", 2, '{"kind": "step_done", "at": 1.0, "output": 7}')
    with pytest.raises(JournalCorruptError, match="tick record seq 2: it cannot be read") as bad:
        await workflow.history("hurt")
    assert bad.value.seq == 2 and ticks > 3

    with pytest.raises(JournalCorruptError, match="seq 2"):
        await workflow.fork("hurt", at=3)
    assert await workflow.fork("hurt", at=2, new_run_id="again") == 6


async def test_an_unreadable_event_stops_its_reader_naming_the_offset() -> None:
    store = MemoryStore()
    assert await Short(store=store, timeout=None).run(run_id="hurt", n=1) == 2
    await write_row(store, "hurt", "events", 1, '{"__model__": "nowhere.Nothing", "value": {}}')
    # Resuming reads no event (they stay in the store); a reader meets the damage.
    handler = Short(store=store, timeout=None).resume("hurt")
    assert await handler == 2
    seen: list[int] = []
    with pytest.raises(JournalCorruptError, match="event record offset 1: it cannot be read"):
        async for offset, _ in handler.follow_events(0, expose_internal=True):
            seen.append(offset)
    assert seen == []  # offset 0 shares the damaged page: nothing unchecked is handed out


async def test_a_state_that_cannot_be_read_back_is_named_as_corrupt() -> None:
    store = MemoryStore()
    assert await Short(store=store, timeout=None).run(run_id="hurt", n=1) == 2
    seq = (await store.get_run("hurt")).ticks
    state = {"state_type": "nowhere.Gone", "state_data": {"value": {}}}
    await store.append(JournalBatch("hurt", seq, [{"kind": "state", "at": 9.0, "state": state}]))
    with pytest.raises(
        JournalCorruptError, match=r"the ctx\.store state its ticks build"
    ) as caught:
        await Short(store=store, timeout=None).resume("hurt")
    assert (caught.value.run_id, caught.value.record) == ("hurt", "tick")


async def test_a_journal_from_a_newer_stepwork_is_refused_and_history_names_the_writer() -> None:
    from stepwork._runtime.envelopes import process_writer_id

    store = MemoryStore()
    workflow = Short(store=store, timeout=None)
    assert await workflow.run(run_id="new", n=2) == 4
    history = await workflow.history("new")
    # A durable run is written under this process's first lease on it: epoch 1.
    assert {(entry.writer, entry.epoch) for entry in history} == {(process_writer_id(), 1)}
    record = (await store.load_ticks("new", after_seq=1, limit=1))[0]
    await write_row(store, "new", "ticks", 2, json.dumps({**record, "env": {"v": 99}}))
    with pytest.raises(JournalCorruptError, match=r"seq 2: .*newer stepwork.*upgrade") as caught:
        await Short(store=store, timeout=None).resume("new")
    assert (caught.value.run_id, caught.value.seq) == ("new", 2)
    with pytest.raises(JournalCorruptError, match=r"seq 2: .*newer stepwork"):
        await workflow.history("new")
    assert not (await workflow.replay("new")).agrees
