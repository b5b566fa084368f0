"""Streaming a run's events: one reader, or many at once.

1. ``handler.stream_events()``: the compatible single reader. It yields what steps publish
   with ``ctx.write_event_to_stream`` and ends with the ``StopEvent``.
2. ``handler.follow_events(start=offset)``: any number of readers follow the same run, each
   from its own offset, as ``(offset, event)`` pairs. A reader that drops out reconnects with
   the last offset it saw plus one and misses nothing. ``expose_internal=True`` also shows the
   engine's own events (``StepStateChanged`` ...). Events are buffered, so a reader that comes
   after the run has ended still gets everything.

Run it with ``python examples/streaming.py``.
"""

from __future__ import annotations

import asyncio

from stepwork import (
    Context,
    Event,
    StartEvent,
    StepStateChanged,
    StopEvent,
    Workflow,
    WorkflowHandler,
    step,
)


class Progress(Event):
    """Published while the work goes on."""

    percent: int


class Halfway(Event):
    """Passed from one step to the next (steps' own events are not streamed)."""


class Download(Workflow):
    @step
    async def first_half(self, ctx: Context, ev: StartEvent) -> Halfway:
        for percent in (0, 25):
            ctx.write_event_to_stream(Progress(percent=percent))
            await asyncio.sleep(0.05)  # stands in for real work
        return Halfway()

    @step
    async def second_half(self, ctx: Context, ev: Halfway) -> StopEvent:
        for percent in (50, 75):
            ctx.write_event_to_stream(Progress(percent=percent))
            await asyncio.sleep(0.05)
        return StopEvent(result="download complete")


def show(offset: int, event: Event) -> str:
    """A short label for an event: its offset and what it says."""
    if isinstance(event, Progress):
        return f"{offset}:{event.percent}%"
    if isinstance(event, StepStateChanged):  # internal: a step started or finished
        return f"{offset}:{event.name} {event.step_state.value}"
    return f"{offset}:{type(event).__name__}"


async def flaky_reader(handler: WorkflowHandler) -> None:
    # Reads two events, "loses its connection", then picks up from the next offset.
    seen: list[str] = []
    last = -1
    async for offset, event in handler.follow_events(start=0):
        seen.append(show(offset, event))
        last = offset
        if len(seen) == 2:
            break
    async for offset, event in handler.follow_events(start=last + 1):
        seen.append(show(offset, event))
    print(f"  flaky reader (reconnected at {last + 1}): {seen}")


async def steady_reader(handler: WorkflowHandler) -> list[tuple[int, Event]]:
    pairs = [pair async for pair in handler.follow_events()]
    print(f"  steady reader: {[show(offset, event) for offset, event in pairs]}")
    return pairs


async def internal_reader(handler: WorkflowHandler) -> None:
    seen = [
        show(offset, event) async for offset, event in handler.follow_events(expose_internal=True)
    ]
    print(f"  internal reader (expose_internal=True): {seen}")


async def main() -> None:
    print("1. stream_events():")
    handler = Download(timeout=10).run()
    async for event in handler.stream_events():
        print(f"  {type(event).__name__}: {event}")
    print(f"  result: {await handler}")

    print("2. three readers with follow_events() at once:")
    handler = Download(timeout=10).run()
    _, pairs, _ = await asyncio.gather(
        flaky_reader(handler), steady_reader(handler), internal_reader(handler)
    )
    print(f"  result: {await handler}")

    # The run is over, but its events are kept: a late reader can start anywhere, here at
    # the offset where the 50% event was seen.
    fifty = next(o for o, e in pairs if isinstance(e, Progress) and e.percent == 50)
    late = [show(offset, event) async for offset, event in handler.follow_events(start=fifty)]
    print(f"  late reader from offset {fifty}: {late}")


if __name__ == "__main__":
    asyncio.run(main())
