"""Human in the loop: ask a person, wait for the answer, even across a process restart.

1. A step returns an ``InputRequiredEvent``; the caller sees it on the stream and answers with
   ``handler.send_event(HumanResponseEvent)``, which another step accepts.
2. ``await ctx.wait_for_event(...)`` inside a step: the step is suspended, not re-run, so the
   code before the wait runs once.
3. A snapshot taken while the run waits for the person: ``ctx.to_dict()`` is plain JSON; later
   ``Context.from_dict(workflow, data)`` resumes the run and the answer is sent then.

This script plays the human itself, so it runs without input.
Run it with ``python examples/human_in_the_loop.py``.
"""

from __future__ import annotations

import asyncio
import json

from stepwork import (
    Context,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowHandler,
    step,
)


class Question(InputRequiredEvent):
    """Published for the person to answer."""

    prompt: str


class Answer(HumanResponseEvent):
    """What the person said."""

    text: str


# -- 1. return InputRequiredEvent, accept HumanResponseEvent -------------------------------------


class Greeter(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> Question:
        return Question(prompt="What is your name?")

    @step
    async def greet(self, ev: Answer) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.text}!")


# -- 2. and 3. wait inside a step ----------------------------------------------------------------


class Survey(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        # Expensive work before the question (say, a model call). It runs once: waiting
        # suspends the step; the answer resumes it right here.
        print("  survey: preparing the question")
        answer = await ctx.wait_for_event(Answer, waiter_event=Question(prompt="Favourite colour?"))
        return StopEvent(result=f"noted: {answer.text}")


async def answer_from_stream(handler: WorkflowHandler, reply: str) -> object:
    """Play the human: answer every question that appears on the stream."""
    async for event in handler.stream_events():
        if isinstance(event, Question):
            print(f"  asked: {event.prompt!r} -> answering {reply!r}")
            await handler.send_event(Answer(text=reply))
    return await handler


async def main() -> None:
    print("1. InputRequiredEvent / HumanResponseEvent:")
    print(f"  result: {await answer_from_stream(Greeter(timeout=10).run(), 'Ada')}")

    print("2. ctx.wait_for_event (the code before the wait runs once):")
    print(f"  result: {await answer_from_stream(Survey(timeout=10).run(), 'teal')}")

    print("3. snapshot while waiting, then resume:")
    handler = Survey(timeout=10).run()
    async for event in handler.stream_events():
        if isinstance(event, Question):
            # The run is waiting for a person. Save it as JSON (to a file, a database, ...).
            saved = json.dumps(handler.ctx.to_dict())
            break
    await handler.cancel_run()  # pretend the process went away
    print(f"  saved a {len(saved)}-byte JSON snapshot; the first process is gone")

    # Later, maybe in another process: rebuild the context and run it. No start event is
    # needed; the run continues where it was. The interrupted step runs again up to its
    # wait (its first attempt died with the old process). The question was already
    # published before the snapshot, so the answer is simply sent now; an answer that
    # arrives before the step reaches its wait is kept for it.
    workflow = Survey(timeout=10)
    resumed = workflow.run(ctx=Context.from_dict(workflow, json.loads(saved)))
    await resumed.send_event(Answer(text="ochre"))
    print(f"  resumed result: {await resumed}")


if __name__ == "__main__":
    asyncio.run(main())
