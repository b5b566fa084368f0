"""Retries and errors: every way a run can go wrong, and what the caller sees.

1. ``retry_policy(...)`` retries a flaky step; ``ctx.retry_info()`` tells the step which
   attempt this is and what failed last time.
2. ``@catch_error`` turns a step's failure (once its retries are used up) into a recovery.
3. ``@step(timeout=...)`` limits one step invocation: ``StepTimeoutError``.
4. ``Workflow(timeout=...)`` limits the whole run: ``WorkflowTimeoutError``.
5. ``handler.cancel_run()`` stops a run: ``WorkflowCancelledByUser``.
6. A run that can never finish fails at once with ``WorkflowStalledError`` instead of sitting
   idle until its timeout.

Run it with ``python examples/retries_and_errors.py``.
"""

from __future__ import annotations

import asyncio
import time

from stepwork import (
    Context,
    Event,
    StartEvent,
    StepFailedEvent,
    StepTimeoutError,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowStalledError,
    WorkflowTimeoutError,
    catch_error,
    step,
)
from stepwork.retry_policy import (
    retry_if_exception_type,
    retry_policy,
    stop_after_attempt,
    wait_fixed,
)

# -- 1. retries --------------------------------------------------------------------------------


class Flaky(Workflow):
    # Retry connection errors only, 50 ms apart, four attempts at most.
    @step(
        retry_policy=retry_policy(
            retry=retry_if_exception_type(ConnectionError),
            wait=wait_fixed(0.05),
            stop=stop_after_attempt(4),
        )
    )
    async def call_api(self, ctx: Context, ev: StartEvent) -> StopEvent:
        info = ctx.retry_info()
        print(f"  attempt {info.retry_number + 1}, last error: {info.last_exception!r}")
        if info.retry_number < 2:  # the first two attempts fail
            raise ConnectionError(f"connection reset (attempt {info.retry_number + 1})")
        return StopEvent(result="answer from the API")


# -- 2. recovery -------------------------------------------------------------------------------


class Recovering(Workflow):
    @step
    async def parse(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=int(ev.text))  # fails for "twelve"

    @catch_error
    async def fall_back(self, ev: StepFailedEvent) -> StopEvent:
        # Gets the failed step's name, its input event and the exception.
        print(f"  caught {type(ev.exception).__name__} from step {ev.step_name!r}")
        return StopEvent(result=-1)


# -- 3. and 4. timeouts, 5. cancellation -------------------------------------------------------


class SlowStep(Workflow):
    @step(timeout=0.1)  # this step may take 0.1 s per invocation
    async def think(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(5)
        return StopEvent(result="too late")


class Sleepy(Workflow):
    @step
    async def nap(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(5)
        return StopEvent(result="rested")


# -- 6. a run that can never finish ------------------------------------------------------------


class Draft(Event):
    text: str


class Approved(Event):
    text: str


class Review(Workflow):
    @step
    async def write(self, ev: StartEvent) -> Draft:
        return Draft(text="first draft")

    @step
    async def review(self, ev: Draft) -> Approved | None:
        return None  # the reviewer rejects everything: nothing will ever reach publish

    @step
    async def publish(self, ev: Approved) -> StopEvent:
        return StopEvent(result=ev.text)


async def main() -> None:
    print("1. retry_policy + ctx.retry_info():")
    print(f"  result: {await Flaky(timeout=10).run()}")

    print("2. @catch_error:")
    print(f"  result: {await Recovering(timeout=10).run(text='twelve')}")

    print("3. per-step timeout:")
    try:
        await SlowStep(timeout=10).run()
    except StepTimeoutError as error:
        print(f"  {type(error).__name__}: {error}")

    print("4. run timeout:")
    try:
        await Sleepy(timeout=0.1).run()
    except WorkflowTimeoutError as error:
        print(f"  {type(error).__name__}: {error}")

    print("5. cancel_run():")
    handler = Sleepy(timeout=10).run()
    await asyncio.sleep(0.05)  # let it start napping
    await handler.cancel_run()
    try:
        await handler
    except WorkflowCancelledByUser as error:
        print(f"  {type(error).__name__}: {error}")
        print(f"  the stream ended with: {type(handler.get_stop_event()).__name__}")

    print("6. a run that can never finish:")
    started = time.monotonic()
    try:
        await Review(timeout=30).run()  # fails at once, not after 30 s
    except WorkflowStalledError as error:
        print(f"  {type(error).__name__} after {time.monotonic() - started:.1f}s: {error}")


if __name__ == "__main__":
    asyncio.run(main())
