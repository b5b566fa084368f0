"""Timeouts, step timeouts, retries, @catch_error and queued runs, under a controllable clock."""

from __future__ import annotations

import asyncio

import pytest

from stepwork import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowTimeoutError,
    catch_error,
    retry_policy,
    step,
    stop_after_attempt,
    wait_fixed,
)
from stepwork.errors import StepTimeoutError
from stepwork.events import StepFailedEvent, WorkflowFailedEvent, WorkflowTimedOutEvent
from stepwork.testing import ManualClock


class Hang(Workflow):
    @step
    async def hang(self, ev: StartEvent) -> StopEvent:
        await asyncio.Event().wait()
        return StopEvent()


async def test_run_timeout_names_active_steps_and_ends_the_stream() -> None:
    clock = ManualClock()
    handler = Hang(timeout=30, clock=clock).run()
    await clock.advance(29.9)
    assert not handler.done()
    await clock.advance(0.2)
    with pytest.raises(
        WorkflowTimeoutError, match=r"after 30\.0 seconds\. Currently active steps: hang"
    ):
        await handler
    stop = handler.get_stop_event()
    assert isinstance(stop, WorkflowTimedOutEvent) and stop.active_steps == ["hang"]
    events = [e async for e in handler.stream_events()]
    assert events == [stop]


async def test_timeout_none_never_fires() -> None:
    clock = ManualClock()
    handler = Hang(timeout=None, clock=clock).run()
    await clock.advance(10_000)
    assert not handler.done() and clock.pending() == 0
    await handler.cancel_run()


async def test_per_step_timeout_fails_the_step_with_step_timeout_error() -> None:
    clock = ManualClock()

    class W(Workflow):
        @step(timeout=2.0)
        async def slow(self, ev: StartEvent) -> StopEvent:
            await asyncio.Event().wait()
            return StopEvent()

    handler = W(timeout=None, clock=clock).run()
    await clock.advance(2.0)
    with pytest.raises(
        StepTimeoutError, match=r"Step 'slow' did not finish within its timeout of 2\.0"
    ):
        await handler
    stop = handler.get_stop_event()
    assert isinstance(stop, WorkflowFailedEvent) and stop.step_name == "slow"


async def test_retries_wait_their_delay_and_expose_retry_info() -> None:
    clock = ManualClock()
    seen: list[tuple[int, str | None]] = []

    class W(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(10), stop=stop_after_attempt(3)))
        async def flaky(self, ctx: Context, ev: StartEvent) -> StopEvent:
            info = ctx.retry_info()
            seen.append(
                (info.retry_number, str(info.last_exception) if info.last_exception else None)
            )
            if info.retry_number < 2:
                raise ValueError(f"attempt {info.retry_number}")
            return StopEvent(result="ok")

    handler = W(timeout=None, clock=clock).run()
    await clock.advance(0)
    assert seen == [(0, None)]
    await clock.advance(9.9)
    assert len(seen) == 1
    await clock.advance(0.1)
    await clock.advance(10)
    assert await handler == "ok"
    assert seen == [(0, None), (1, "attempt 0"), (2, "attempt 1")]


async def test_exhausted_retries_fail_with_the_attempt_count() -> None:
    clock = ManualClock()

    class W(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(1), stop=stop_after_attempt(3)))
        async def bad(self, ev: StartEvent) -> StopEvent:
            raise RuntimeError("still broken")

    handler = W(timeout=None, clock=clock).run()
    await clock.advance(0)
    await clock.advance(1)
    assert not handler.done()
    await clock.advance(1)
    with pytest.raises(RuntimeError, match="still broken"):
        await handler
    stop = handler.get_stop_event()
    assert isinstance(stop, WorkflowFailedEvent) and stop.attempts == 3


async def test_a_retry_policy_that_raises_fails_the_run_with_its_error() -> None:
    class Broken:
        def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
            raise LookupError("policy bug")

    class W(Workflow):
        @step(retry_policy=Broken())
        async def bad(self, ev: StartEvent) -> StopEvent:
            raise ValueError("step bug")

    with pytest.raises(LookupError, match="policy bug") as caught:
        await W().run()
    assert isinstance(caught.value.__cause__, ValueError)


class Retry(Event):
    pass


async def test_catch_error_recovers_then_gives_up_after_max_recoveries() -> None:
    recoveries: list[str] = []

    class W(Workflow):
        @step
        async def work(self, ev: StartEvent | Retry) -> StopEvent:
            raise ValueError(f"failed on {type(ev).__name__}")

        @catch_error(max_recoveries=1)
        async def recover(self, ev: StepFailedEvent) -> Retry:
            recoveries.append(f"{ev.step_name}: {ev.exception}")
            return Retry()

    with pytest.raises(ValueError, match="failed on Retry"):
        await W().run()
    assert recoveries == ["work: failed on StartEvent"]


async def test_catch_error_may_end_the_run_successfully() -> None:
    class W(Workflow):
        @step
        async def work(self, ev: StartEvent) -> StopEvent:
            raise ValueError("nope")

        @catch_error
        async def recover(self, ev: StepFailedEvent) -> StopEvent:
            return StopEvent(result=f"recovered from {ev.step_name} after {ev.attempts}")

    assert await W().run() == "recovered from work after 1"


async def test_num_concurrent_runs_queues_extra_runs() -> None:
    running = 0
    peak = 0
    release = asyncio.Event()

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1
            return StopEvent(result=ev.n)

    wf = W(num_concurrent_runs=1)
    handlers = [wf.run(n=n) for n in range(3)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert running == 1
    release.set()
    assert await asyncio.gather(*handlers) == [0, 1, 2]
    assert peak == 1
