"""Workflows the client tests serve: a person is asked a question, then greeted."""

from __future__ import annotations

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)


class Intro(StartEvent):
    """How to address the person."""

    title: str


class Progress(Event):
    """A note on the stream."""

    note: str


class Question(InputRequiredEvent):
    """Asks the person for their name."""

    prompt: str


class Answer(HumanResponseEvent):
    """The person's name."""

    text: str


class Interview(Workflow):
    """Asks for a name and greets the person by it."""

    @step
    async def ask(self, ctx: Context, ev: Intro) -> Question:
        ctx.write_event_to_stream(Progress(note="asking"))
        known = await ctx.store.get("names", default=[])
        if known:  # a run continued from an earlier one
            return Question(prompt=f"Welcome back, {ev.title}; still {known[-1]}?")
        return Question(prompt=f"What is your name, {ev.title}?")

    @step
    async def greet(self, ctx: Context, ev: Answer) -> StopEvent:
        ctx.write_event_to_stream(Progress(note="greeting"))
        await ctx.store.set("names", [*await ctx.store.get("names", default=[]), ev.text])
        return StopEvent(result=f"Hello, {ev.text}!")


workflows = {"interview": Interview(timeout=60)}
