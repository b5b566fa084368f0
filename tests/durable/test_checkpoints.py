"""Checkpoints on a real store: resuming folds only the ticks after the latest checkpoint.

A looping run journals a few hundred ticks with a checkpoint every 50, stops to wait for a
person, and is taken over by a new workflow object (as another process would: its store is a
new connection, and the claim fences the first holder). The test counts the tick records the
resume loads, and compares the state it rebuilt with folding every tick.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    LeaseLostError,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork._core.reducer import fold
from stepwork._runtime.durable import resume_run
from stepwork._runtime.lease import PROCESS_OWNER
from stepwork._runtime.snapshot import dump_run_state, registry_for
from stepwork._stores.protocol import Checkpoint, JournalBatch, Lease, RunTail, Store
from stepwork._stores.tick_codec import load_envelope
from stepwork._stores.url import store_from_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stores.vandal import _sql

EVERY = 50
LAPS = 150


class Lap(Event):
    n: int


class Ask(InputRequiredEvent):
    laps: int


class Answer(HumanResponseEvent):
    word: str


class Nudge(Event):
    pass


class Loop(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Lap:
        return Lap(n=0)

    @step
    async def lap(self, ctx: Context, ev: Lap) -> Lap | Ask:
        await ctx.store.set("laps", ev.n + 1)
        if ev.n + 1 < LAPS:
            return Lap(n=ev.n + 1)
        return Ask(laps=ev.n + 1)

    @step
    async def nudged(self, ctx: Context, ev: Nudge) -> None:
        await ctx.store.set("nudges", await ctx.store.get("nudges", default=0) + 1)

    @step
    async def finish(self, ctx: Context, ev: Answer) -> StopEvent:
        return StopEvent(result=f"{ev.word} after {await ctx.store.get('laps')} laps")


class Counting:
    """A store whose ``load_ticks`` calls are recorded as ``(after_seq, records loaded)``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.loads: list[tuple[int, int]] = []
        self.checkpoints: list[int | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def load_checkpoint(self, run_id: str) -> Checkpoint | None:
        found = await self.store.load_checkpoint(run_id)
        self.checkpoints.append(None if found is None else found.seq)
        return found

    async def load_ticks(
        self, run_id: str, after_seq: int = -1, limit: int | None = None
    ) -> list[dict[str, Any]]:
        records = await self.store.load_ticks(run_id, after_seq, limit)
        self.loads.append((after_seq, len(records)))
        return records


async def wait_for_person(url: str) -> tuple[Workflow, Any]:
    first = Loop(store=url, timeout=None, disable_validation=True)
    handler = first.run(run_id="loop")
    # Sent early, so the checkpoints carry its key (the resume never sees its tick).
    await handler.send_event(Nudge(), idempotency_key="nudge-1")
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            break
    return first, handler


async def full_fold(store: Store, workflow: Workflow) -> dict[str, Any]:
    registry = registry_for(workflow)
    ticks = [load_envelope(r, registry).tick for r in await store.load_ticks("loop")]
    reducer = workflow.definition().reducer
    return dump_run_state(fold(reducer, ticks, reducer.new_state("loop")))


async def test_a_takeover_folds_only_the_ticks_after_the_latest_checkpoint(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPWORK_CHECKPOINT_EVERY", str(EVERY))
    first, _ = await wait_for_person(store_url)
    store = first.store
    assert store is not None
    total = (await store.get_run("loop")).ticks
    checkpoint = await store.load_checkpoint("loop")
    assert total > 2 * LAPS and checkpoint is not None
    assert checkpoint.seq == (total // EVERY) * EVERY - 1 or checkpoint.seq >= total - EVERY

    counting = Counting(store_from_url(store_url))
    second = Loop(store=store_url, timeout=None, disable_validation=True)
    second.use_store(counting)  # type: ignore[arg-type]
    resumed = second.resume("loop")
    await resumed.send_event(Nudge(), idempotency_key="nudge-1")  # sent before: not again
    driver = resumed.driver
    assert driver is not None
    (seq,) = counting.checkpoints
    assert seq is not None and seq >= checkpoint.seq
    ((after, loaded),) = counting.loads
    assert after == seq and loaded < EVERY  # the tail only, not the run's 300 ticks
    assert driver.ticks.start == seq + 1

    await resumed.send_event(Answer(word="done"))
    assert await resumed == f"done after {LAPS} laps"
    assert await resumed.ctx.store.get("nudges") == 1
    assert dump_run_state(driver.state) == await full_fold(store, second)
    await counting.close()
    await store.close()


class Tailing(Counting):
    """``Counting``, recording also the one-read ``load_tail`` calls of a store that has it."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.tails: list[int | None] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.store, name)
        if name != "load_tail":
            return found

        async def load_tail(run_id: str) -> RunTail:
            tail: RunTail = await found(run_id)
            self.tails.append(None if tail.checkpoint is None else tail.checkpoint.seq)
            return tail

        return load_tail


async def test_a_worker_claim_reads_the_row_checkpoint_and_tail_in_one_read(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPWORK_CHECKPOINT_EVERY", str(EVERY))
    first, _ = await wait_for_person(store_url)
    store = first.store
    assert store is not None
    checkpoint = await store.load_checkpoint("loop")
    assert checkpoint is not None

    tailing = Tailing(store_from_url(store_url))
    second = Loop(store=store_url, timeout=None, disable_validation=True)
    second.use_store(tailing)  # type: ignore[arg-type]
    await tailing.open()
    lease = await tailing.claim_run("loop", "another-worker", ttl=30, take_from=PROCESS_OWNER)
    assert lease is not None
    resumed = resume_run(second, "loop", lease=lease)  # claimed first, as a worker does
    await resumed.send_event(Nudge(), idempotency_key="nudge-1")  # sent before: not again
    driver = resumed.driver
    assert driver is not None
    if store_url.startswith("postgresql"):
        assert (tailing.tails, tailing.loads, tailing.checkpoints) == ([checkpoint.seq], [], [])
    else:  # no one-read tail: the row, the checkpoint and the ticks after it, one by one
        assert tailing.checkpoints == [checkpoint.seq]
        assert [after for after, _ in tailing.loads] == [checkpoint.seq]
    assert driver.ticks.start == checkpoint.seq + 1
    await resumed.send_event(Answer(word="done"))
    assert await resumed == f"done after {LAPS} laps"
    assert await resumed.ctx.store.get("nudges") == 1
    assert dump_run_state(driver.state) == await full_fold(store, second)
    await tailing.close()
    await store.close()


async def test_an_unreadable_checkpoint_falls_back_to_every_tick_and_says_so(
    store_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("STEPWORK_CHECKPOINT_EVERY", str(EVERY))
    first, _ = await wait_for_person(store_url)
    store = first.store
    assert store is not None
    checkpoint = await store.load_checkpoint("loop")
    assert checkpoint is not None
    record = {**checkpoint.record, "v": 99}
    await _sql(
        store, "UPDATE checkpoints SET record = $2 WHERE run_id = $1", "loop", json.dumps(record)
    )

    counting = Counting(store_from_url(store_url))
    second = Loop(store=store_url, timeout=None, disable_validation=True)
    second.use_store(counting)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="stepwork.checkpoints"):
        resumed = second.resume("loop")
        await resumed.send_event(Nudge(), idempotency_key="nudge-2")
    assert counting.loads[0][0] == -1  # every tick, from the start
    assert "checkpoint of run 'loop' at seq" in caplog.text and "version 99" in caplog.text
    await resumed.send_event(Answer(word="ok"))
    assert await resumed == f"ok after {LAPS} laps"
    assert await resumed.ctx.store.get("nudges") == 2
    driver = resumed.driver
    assert driver is not None and driver.ticks.start == 0
    assert dump_run_state(driver.state) == await full_fold(store, second)
    await counting.close()
    await store.close()


async def test_a_stale_holder_stores_no_checkpoint(store_url: str) -> None:
    store = store_from_url(store_url)
    await store.open()
    tick = {"kind": "start", "at": 1.0, "run_id": "r", "start_event": None, "timeout": None}
    lease = Lease("r", "me", 1, 1e12)
    await store.append(JournalBatch("r", 0, [tick], workflow="w", epoch=1, lease=lease))
    taken = await store.claim_run("r", "other", 10.0, take_from="me")
    assert taken is not None and taken.epoch == 2
    stale = JournalBatch("r", 1, [tick], epoch=1, checkpoint=Checkpoint(1, {"v": 1}))
    with pytest.raises(LeaseLostError):
        await store.append(stale)
    assert await store.load_checkpoint("r") is None
    fresh = JournalBatch("r", 1, [tick], epoch=2, checkpoint=Checkpoint(1, {"v": 1, "x": 1}))
    await store.append(fresh)
    assert await store.load_checkpoint("r") == Checkpoint(1, {"v": 1, "x": 1})
    await store.append(JournalBatch("r", 2, [tick], epoch=2, checkpoint=Checkpoint(2, {"v": 1})))
    assert await store.load_checkpoint("r") == Checkpoint(2, {"v": 1})
    assert await store.delete_run("r")
    await store.close()
