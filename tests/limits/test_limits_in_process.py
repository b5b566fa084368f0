"""Limits in one process: runs without a store, on a MemoryStore and on a SQLite file.

Concurrency is counted by the steps themselves (a counter the engine does not keep); rate
windows and retry delays run on a ManualClock, so a minute passes without waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from stepwork import (
    Context,
    Event,
    Limit,
    LimitConflictError,
    LimitKeyError,
    MemoryStore,
    RetryAfter,
    StartEvent,
    StepTimeoutError,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowValidationError,
    step,
)
from stepwork._runtime.clock import ManualClock
from stepwork._stores.sqlite import SqliteStore
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Item(Event):
    n: int


class Done(Event):
    n: int


class Gauge:
    """How many limited steps run at once, and the most seen."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.order: list[str] = []

    def enter(self, who: str) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        self.order.append(who)

    def leave(self) -> None:
        self.now -= 1


GAUGE = Gauge()
GATE: asyncio.Event | None = None


async def until(check: Callable[[], bool]) -> None:
    """Wait for a state (``check()`` true), looking every 5 ms; the test timeout bounds it."""
    while True:
        if check():
            return
        await asyncio.sleep(0.005)


class FanOut(Workflow):
    """Fans out ``count`` calls of a step limited to 2 at once (across runs)."""

    limits: ClassVar[dict[str, Limit]] = {"api": Limit(concurrency=2)}

    @step
    async def split(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(ev.count)]

    @step(limit="api", num_workers=100)
    async def call(self, ev: Item) -> Done:
        GAUGE.enter(f"{ev.n}")
        try:
            await asyncio.sleep(0.01)  # work, not synchronisation
        finally:
            GAUGE.leave()
        return Done(n=ev.n)

    @step
    async def gather(self, evs: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(ev.n for ev in evs))


@pytest.fixture(autouse=True)
def fresh_gauge() -> None:
    global GAUGE
    GAUGE = Gauge()


@pytest.mark.parametrize("where", ["none", "memory", "sqlite"])
async def test_concurrency_is_capped_across_runs(where: str, tmp_path: Path) -> None:
    store: Any = {"none": None, "memory": MemoryStore(), "sqlite": f"sqlite:///{tmp_path}/r.db"}
    flow = FanOut(timeout=30, store=store[where])
    results = await asyncio.gather(*(flow.run(count=6) for _ in range(3)))
    assert results == [list(range(6))] * 3
    assert GAUGE.most == 2


def test_a_step_naming_an_undeclared_limit_fails_at_class_definition() -> None:
    with pytest.raises(WorkflowValidationError, match=r"uses limit 'opnai'.*declared: openai"):

        class Typo(Workflow):
            limits: ClassVar[dict[str, Limit]] = {"openai": Limit(concurrency=1)}

            @step(limit="opnai")
            async def ask(self, ev: StartEvent) -> StopEvent:
                return StopEvent()


def test_limit_numbers_are_checked() -> None:
    with pytest.raises(WorkflowValidationError, match="caps nothing"):
        Limit()
    with pytest.raises(WorkflowValidationError, match="concurrency=0"):
        Limit(concurrency=0)


class Tenants(Workflow):
    limits: ClassVar[dict[str, Limit]] = {"per_tenant": Limit(concurrency=1, key="tenant")}

    @step
    async def split(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step(limit="per_tenant", num_workers=10)
    async def call(self, ctx: Context, ev: Item) -> Done:
        GAUGE.enter(await ctx.store.get("tenant", default="?"))
        try:
            await asyncio.sleep(0.01)  # work, not synchronisation
        finally:
            GAUGE.leave()
        return Done(n=ev.n)

    @step
    async def gather(self, evs: list[Done]) -> StopEvent:
        return StopEvent(result=len(evs))


async def test_keyed_limits_split_slots_by_start_event_field(tmp_path: Path) -> None:
    flow = Tenants(timeout=30, store=f"sqlite:///{tmp_path}/r.db")
    # One slot per tenant: two tenants run side by side, so at most 2 at once overall.
    assert await asyncio.gather(flow.run(tenant="a"), flow.run(tenant="b")) == [3, 3]
    assert GAUGE.most == 2


async def test_a_keyed_limit_refuses_a_start_event_without_its_field() -> None:
    with pytest.raises(LimitKeyError, match="no 'tenant' field"):
        await Tenants(timeout=5).run()


async def test_different_numbers_for_one_name_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    assert await FanOut(timeout=30, store=url).run(count=1) == [0]

    class Other(Workflow):
        limits: ClassVar[dict[str, Limit]] = {"api": Limit(concurrency=5)}

        @step(limit="api")
        async def call(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(LimitConflictError, match=r"concurrency=5.*store keeps.*concurrency=2"):
        await Other(timeout=30, store=url).run()


class Rated(Workflow):
    limits: ClassVar[dict[str, Limit]] = {"rate": Limit(per_minute=3)}

    @step
    async def split(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(ev.count)]

    @step(limit="rate", num_workers=100)
    async def call(self, ev: Item) -> Done:
        GAUGE.order.append(f"{ev.n}")
        STARTS.append(CLOCK.now())
        return Done(n=ev.n)

    @step
    async def gather(self, evs: list[Done]) -> StopEvent:
        return StopEvent(result=len(evs))


CLOCK = ManualClock()
STARTS: list[float] = []


@pytest.mark.parametrize("where", ["none", "sqlite"])
async def test_per_minute_holds_over_a_sliding_minute(where: str, tmp_path: Path) -> None:
    global CLOCK
    CLOCK = ManualClock()
    STARTS.clear()
    store = None if where == "none" else SqliteStore(tmp_path / "r.db")
    handler = Rated(timeout=None, clock=CLOCK, store=store).run(count=7)

    async def settle(count: int) -> None:  # the starts the window allows by now
        await until(lambda: len(STARTS) >= count)

    await settle(3)
    for _ in range(6):  # a virtual minute and a half, in steps
        await CLOCK.advance(15)
    await settle(6)
    for _ in range(4):
        await CLOCK.advance(15)
    await settle(7)
    assert await handler == 7
    first = CLOCK.now() - 150
    if where == "none":
        assert STARTS == [first] * 3 + [first + 60] * 3 + [first + 120]
    else:
        # A waiter on SQLite looks again after real I/O, by when the manual clock may have
        # moved on a step: its start is then later than the window allowed, never earlier.
        assert STARTS[:3] == [first] * 3
        assert min(STARTS[3:6]) >= first + 60 and STARTS[6] >= first + 120


class Tagged(Event):
    tag: str
    n: int


class Fair(Workflow):
    """A run fans out ``count`` calls to a one-slot limit; each call waits for GATE."""

    limits: ClassVar[dict[str, Limit]] = {"one": Limit(concurrency=1)}

    @step
    async def split(self, ev: StartEvent) -> list[Tagged]:
        return [Tagged(tag=ev.tag, n=i) for i in range(ev.count)]

    @step(limit="one", num_workers=100)
    async def call(self, ev: Tagged) -> Done:
        GAUGE.enter(f"{ev.tag}:{ev.n}")
        try:
            assert GATE is not None
            await GATE.wait()
        finally:
            GAUGE.leave()
        return Done(n=ev.n)

    @step
    async def gather(self, evs: list[Done]) -> StopEvent:
        return StopEvent(result=len(evs))


async def test_a_run_fanning_out_does_not_starve_another_runs_call(tmp_path: Path) -> None:
    import sqlite3

    global GATE
    GATE = asyncio.Event()
    flow = Fair(timeout=30, store=SqliteStore(tmp_path / "r.db"))
    big = flow.run(tag="big", count=8)
    await until(lambda: bool(GAUGE.order))  # big's first call holds the slot
    small = flow.run(tag="small", count=1)
    db = sqlite3.connect(tmp_path / "r.db")
    try:  # big's 7 other calls and small's one are queued
        await until(lambda: db.execute("SELECT count(*) FROM limit_waiters").fetchone()[0] == 8)
    finally:
        db.close()
    GATE.set()
    assert await asyncio.gather(big, small) == [8, 1]
    # small's call queued last, but its run held nothing: it went next.
    assert GAUGE.order[:2] == ["big:0", "small:0"]


FAILED_ONCE: set[str] = set()


class RateLimited(Workflow):
    """Asks to be retried after 30 s on its first attempt, then succeeds."""

    @step(retry_policy=retry_policy(wait=wait_fixed(1), stop=stop_after_attempt(3)))
    async def call(self, ev: StartEvent) -> StopEvent:
        STARTS.append(CLOCK.now())
        if ev.name not in FAILED_ONCE:
            FAILED_ONCE.add(ev.name)
            raise RetryAfter(30, "429 from the provider", jitter=5)
        return StopEvent(result="ok")


async def test_retry_after_delays_the_next_attempt_with_jitter() -> None:
    from stepwork._core.ticks import TickStepFailed

    global CLOCK
    CLOCK = ManualClock()
    STARTS.clear()
    handlers = [RateLimited(timeout=None, clock=CLOCK).run(name=str(i)) for i in range(6)]
    await until(lambda: len(STARTS) == 6)  # every run's first attempt failed
    await CLOCK.advance(29.9)
    assert len(STARTS) == 6  # no retry before the 30 s asked for (timers are virtual)
    await CLOCK.advance(5.2)
    assert await asyncio.gather(*handlers) == ["ok"] * 6
    delays = [
        tick.retry_delay
        for handler in handlers
        for tick in handler.driver.ticks  # type: ignore[union-attr]
        if isinstance(tick, TickStepFailed)
    ]
    assert len(delays) == 6 and all(30 <= d <= 35 for d in delays)  # type: ignore[operator]
    assert len(set(delays)) == 6  # jittered: the fleet does not retry in lockstep


async def test_retry_after_without_a_retry_policy_fails_the_step() -> None:
    class NoPolicy(Workflow):
        @step
        async def call(self, ev: StartEvent) -> StopEvent:
            raise RetryAfter(3)

    with pytest.raises(RetryAfter) as caught:
        await NoPolicy(timeout=5).run()
    assert caught.value.retry_after == 3.0


class Slow(Workflow):
    limits: ClassVar[dict[str, Limit]] = {"one": Limit(concurrency=1)}

    @step
    async def split(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(ev.count)]

    @step(limit="one", num_workers=10, timeout=0.5)
    async def call(self, ev: Item) -> Done:
        await asyncio.sleep(0.2)  # work, not synchronisation
        return Done(n=ev.n)

    @step
    async def gather(self, evs: list[Done]) -> StopEvent:
        return StopEvent(result=len(evs))


async def test_waiting_for_a_slot_does_not_count_against_the_step_timeout() -> None:
    # Four calls of 0.2 s through one slot: the last waits 0.6 s, longer than its 0.5 s.
    assert await Slow(timeout=30).run(count=4) == 4


async def test_the_step_timeout_counts_once_the_slot_is_held() -> None:
    class Stuck(Workflow):
        limits: ClassVar[dict[str, Limit]] = {"one": Limit(concurrency=1)}

        @step(limit="one", timeout=0.1)
        async def call(self, ev: StartEvent) -> StopEvent:
            await asyncio.Event().wait()  # never returns: the timeout ends it
            return StopEvent()

    with pytest.raises(StepTimeoutError, match="from when it got a slot"):
        await Stuck(timeout=30).run()


async def test_a_cancelled_waiter_leaves_the_queue_and_a_cancelled_holder_frees_its_slot(
    tmp_path: Path,
) -> None:
    import sqlite3

    global GATE
    GATE = asyncio.Event()
    flow = Fair(timeout=30, store=SqliteStore(tmp_path / "r.db"))
    holder = flow.run(tag="holder", count=1)
    await until(lambda: GAUGE.order == ["holder:0"])
    waiter = flow.run(tag="waiter", count=1)
    db = sqlite3.connect(tmp_path / "r.db")
    rows = "SELECT (SELECT count(*) FROM limit_waiters), (SELECT count(*) FROM limit_slots)"
    try:
        await until(lambda: db.execute(rows).fetchone() == (1, 1))
        await waiter.cancel_run()
        await until(lambda: db.execute(rows).fetchone() == (0, 1))  # it left the queue
        await holder.cancel_run()
        await until(lambda: db.execute(rows).fetchone() == (0, 0))  # the slot came back
    finally:
        db.close()
    for cancelled in (holder, waiter):
        with pytest.raises(WorkflowCancelledByUser):
            await cancelled
    late = flow.run(tag="late", count=1)
    GATE.set()
    assert await late == 1
