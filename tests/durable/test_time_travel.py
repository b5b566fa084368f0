"""Time travel over journaled runs: history, replay with today's code, forks."""

from __future__ import annotations

from pathlib import Path

import pytest
from order_flow import Charged, OrderFlow, Reserved

from stepwork import Context, Event, MemoryStore, StartEvent, StopEvent, Workflow, step

EXPECTED = "shipped book for 42 (charged=True)"


def logged(log: Path) -> list[str]:
    return log.read_text().splitlines()


@pytest.fixture
def order_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "steps.log"
    monkeypatch.setenv("ORDER_LOG", str(log))
    monkeypatch.delenv("ORDER_BLOCK_AT", raising=False)
    return log


async def test_history_lists_every_tick_with_what_it_changed(order_log: Path) -> None:
    workflow = OrderFlow(store=MemoryStore(), timeout=None)
    handler = workflow.run(run_id="h", item="book")
    assert await handler == EXPECTED
    history = await workflow.history("h")
    assert len(history) == len(handler.ticks)
    assert [entry.seq for entry in history] == list(range(len(history)))
    first = history[0]
    assert (first.kind, first.summary) == ("start", "run started with StartEvent")
    assert "started step reserve (invocation 0)" in first.effects
    assert history[-1].status == "completed"
    assert any(e.startswith("run ended with StopEvent") for e in history[-1].effects)


async def test_replay_agrees_with_the_journal_until_the_code_changes(order_log: Path) -> None:
    store = MemoryStore()
    workflow = OrderFlow(store=store, timeout=None, workflow_name="orders")
    assert await workflow.run(run_id="r", item="book") == EXPECTED
    report = await workflow.replay("r")
    assert report.agrees and report.status == "completed" and report.problems == []

    class Renamed(Workflow):
        @step
        async def reserve(self, ev: StartEvent) -> Reserved:
            return Reserved(item=ev.item)

        @step
        async def bill(self, ctx: Context, ev: Reserved) -> Charged:
            return Charged(item=ev.item, amount=1)

        @step
        async def send(self, ev: Charged) -> StopEvent:
            return StopEvent(result="x")

    report = await Renamed(store=store, workflow_name="orders").replay("r")
    assert not report.agrees
    assert report.problems, report
    assert any("the journal ran step 'charge'" in p for p in report.problems), report.problems


async def test_fork_continues_from_a_tick_with_patched_state(order_log: Path) -> None:
    workflow = OrderFlow(store=MemoryStore(), timeout=None)
    assert await workflow.run(run_id="orig", item="book") == EXPECTED
    history = await workflow.history("orig")
    # Fork right after the tick that finished `reserve`: charge and ship run again, reserve not.
    at = next(e.seq for e in history if any("started step charge" in x for x in e.effects)) + 1
    before = logged(order_log)
    fork = workflow.fork("orig", at=at, new_run_id="fork-1", state_patch={"note": "forked"})
    assert fork.run_id == "fork-1"
    assert await fork == EXPECTED
    after = logged(order_log)[len(before) :]
    assert [line.split()[0] for line in after] == ["charge", "ship"]
    assert await fork.ctx.store.get("note") == "forked"
    assert (await workflow.store.get_run("orig")).status == "completed"  # type: ignore[union-attr]


async def test_fork_refuses_a_tick_outside_the_journal(order_log: Path) -> None:
    workflow = OrderFlow(store=MemoryStore(), timeout=None)
    assert await workflow.run(run_id="orig", item="book") == EXPECTED
    with pytest.raises(ValueError, match="at must be between 1 and"):
        await workflow.fork("orig", at=10_000)


class Gate(Event):
    """Sent only through wait_for_event: allowed because it is defined in the flow's module."""


class Waits(Workflow):
    @step
    async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.wait_for_event(Gate, waiter_id="gate", timeout=None)
        return StopEvent(result="opened")


async def test_a_fork_can_send_events_into_the_new_run(order_log: Path) -> None:
    workflow = Waits(store=MemoryStore(), timeout=None)
    handler = workflow.run(run_id="w")
    async for ev in handler.stream_events(expose_internal=True):
        if type(ev).__name__ == "WorkflowIdleEvent":
            break
    fork = workflow.fork("w", at=len(handler.ticks), events=[Gate()])
    assert await fork == "opened"
    await handler.cancel_run()


class Item(Event):
    n: int


class Done(Event):
    pass


class FanOut(Workflow):
    @step
    async def split(self, ev: StartEvent) -> list[Item | Done]:
        return [Item(n=1), Item(n=2), Done()]

    @step
    async def item(self, ev: Item) -> None:
        return None

    @step
    async def done(self, ev: Done) -> StopEvent:
        return StopEvent(result="ok")


async def test_history_says_what_a_fan_out_returned() -> None:
    workflow = FanOut(store=MemoryStore(), timeout=None)
    assert await workflow.run(run_id="f") == "ok"
    summaries = [entry.summary for entry in await workflow.history("f")]
    assert "invocation 0 returned 3 events (2 Item, Done)" in summaries
    assert "invocation 1 returned None" in summaries
