"""Random retry delays are drawn afresh for every failure, and journaled for replay."""

from __future__ import annotations

from typing import ClassVar

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_random


class Recording:
    """A policy that remembers each delay its inner random policy chose."""

    def __init__(self) -> None:
        self.inner = retry_policy(wait=wait_random(0, 0.001), stop=stop_after_attempt(3))
        self.delays: list[float | None] = []

    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        delay = self.inner.next(elapsed_time, attempts, error, seed=seed)
        self.delays.append(delay)
        return delay


POLICY = Recording()


class Job(Event):
    n: int


class Done(Event):
    n: int


class FanOut(Workflow):
    failures: ClassVar[dict[int, int]] = {}

    @step
    async def spread(self, ctx: Context, ev: StartEvent) -> Job | None:
        for n in range(4):
            ctx.send_event(Job(n=n))
        return None

    @step(retry_policy=POLICY, num_workers=4)
    async def flaky(self, ev: Job) -> Done:
        seen = self.failures.get(ev.n, 0)
        if seen < 2:
            self.failures[ev.n] = seen + 1
            raise ConnectionError(f"rate limited {ev.n}")
        return Done(n=ev.n)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done] * 4)
        return None if done is None else StopEvent(result=sorted(d.n for d in done))


async def test_every_attempt_of_every_invocation_draws_its_own_delay() -> None:
    POLICY.delays.clear()
    FanOut.failures = {}
    assert await FanOut().run() == [0, 1, 2, 3]
    # Four invocations failed twice each: eight delays, no two alike (no lockstep retries).
    assert len(POLICY.delays) == 8
    assert len(set(POLICY.delays)) == 8


async def test_a_second_run_draws_other_delays() -> None:
    POLICY.delays.clear()
    FanOut.failures = {}
    await FanOut().run()
    first = list(POLICY.delays)
    POLICY.delays.clear()
    FanOut.failures = {}
    await FanOut().run()
    assert set(first).isdisjoint(POLICY.delays)


async def test_retries_leave_the_applications_random_stream_alone() -> None:
    # The driver's seeds come from the OS: an application's seeded ``random`` stream (or
    # hypothesis, which fails a test whose strategies see it move) is not advanced by retries.
    import random

    FanOut.failures = {}
    random.seed(7)
    expected = random.Random(7).random()
    await FanOut().run()
    assert random.random() == expected
