"""The run timeout counts working time: time a run spends waiting for input from outside (a
person's answer, ``ctx.wait_for_event``) does not count, under a controllable clock."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowTimeoutError,
    step,
)
from stepwork.events import WorkflowIdleEvent
from stepwork.testing import ManualClock


class Question(InputRequiredEvent):
    prompt: str = "?"


class Answer(HumanResponseEvent):
    text: str


class Asked(Event):
    text: str


class Interview(Workflow):
    """Works, asks a person and waits (inside the step), then works again."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.working = asyncio.Event()  # set by the test: the work before the question is done
        self.after = asyncio.Event()  # set by the test: the work after the answer is done

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> Asked:
        await self.working.wait()
        answer = await ctx.wait_for_event(Answer, waiter_event=Question(), timeout=None)
        return Asked(text=answer.text)

    @step
    async def finish(self, ev: Asked) -> StopEvent:
        await self.after.wait()
        return StopEvent(result=f"thanks, {ev.text}")


class Form(Workflow):
    """Asks by returning an InputRequiredEvent; no step runs while the person thinks."""

    @step
    async def ask(self, ev: StartEvent) -> Question:
        return Question()

    @step
    async def answer(self, ev: Answer) -> StopEvent:
        return StopEvent(result=ev.text)


class Patient(Workflow):
    """Waits with a timeout of its own, which still fires while the run timeout is paused."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        try:
            await ctx.wait_for_event(Answer, waiter_event=Question(), timeout=50)
        except TimeoutError:
            return StopEvent(result="nobody answered")
        return StopEvent(result="answered")


async def idles(handler: object, count: int = 1) -> None:
    """Return once the run has announced itself idle ``count`` times."""
    seen = 0
    events = handler.follow_events(0, expose_internal=True)  # type: ignore[attr-defined]
    async with contextlib.aclosing(events):
        async for _, event in events:
            if isinstance(event, WorkflowIdleEvent):
                seen += 1
                if seen == count:
                    return


async def test_waiting_for_a_person_does_not_count_against_the_run_timeout() -> None:
    clock = ManualClock()
    workflow = Interview(timeout=10, clock=clock)
    handler = workflow.run()
    await clock.advance(6)  # six seconds of work before the question
    workflow.working.set()
    await idles(handler)
    await clock.advance(3_600)  # an hour without an answer
    assert not handler.done()
    await handler.send_event(Answer(text="Ada"))
    await clock.advance(3.9)  # 6 + 3.9 seconds of work: within the budget
    assert not handler.done()
    await clock.advance(0.2)  # 6 + 4.1: over it
    with pytest.raises(
        WorkflowTimeoutError, match=r"after 10\.0 seconds\. Currently active steps: finish"
    ):
        await handler


async def test_a_run_that_asked_and_answered_finishes_after_a_long_wait() -> None:
    clock = ManualClock()
    handler = Form(timeout=5, clock=clock).run()
    await idles(handler)
    await clock.advance(86_400)
    assert not handler.done() and clock.pending() == 0  # no run timer while it waits
    await handler.send_event(Answer(text="yes"))
    assert await handler == "yes"


async def test_a_wait_for_event_timeout_still_fires_while_the_run_waits() -> None:
    clock = ManualClock()
    handler = Patient(timeout=10, clock=clock).run()
    await idles(handler)
    await clock.advance(49)
    assert not handler.done()
    await clock.advance(2)
    assert await handler == "nobody answered"


async def test_the_timeout_pauses_again_at_every_wait() -> None:
    clock = ManualClock()
    handler = Form(timeout=5, clock=clock).run()
    await idles(handler)
    await clock.advance(100)
    await handler.send_event(Event(note="not the answer"))  # goes nowhere: still waiting
    await idles(handler, 2)
    await clock.advance(100)
    assert not handler.done()
    await handler.send_event(Answer(text="late but fine"))
    assert await handler == "late but fine"
