"""Quick start: a workflow that fans out, streams its progress, fans in and returns a result.

Run it with ``make demo`` (or ``python examples/quickstart.py``).
"""

from __future__ import annotations

import asyncio
import random

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step


class Topic(Event):
    """One topic to write a line about."""

    name: str


class Line(Event):
    """A finished line about a topic."""

    topic: str
    text: str


class Progress(Event):
    """Streamed so the caller can show what is going on."""

    message: str


class Poem(Workflow):
    """Split a theme into topics, write a line per topic in parallel, then assemble them."""

    @step
    async def plan(self, ctx: Context, ev: StartEvent) -> list[Topic]:
        topics = [word.strip() for word in ev.theme.split(",")]
        ctx.write_event_to_stream(Progress(message=f"planning {len(topics)} lines"))
        return [Topic(name=name) for name in topics]

    @step(num_workers=4)
    async def write(self, ctx: Context, ev: Topic) -> Line:
        await asyncio.sleep(random.uniform(0.05, 0.3))  # stands in for a model call
        ctx.write_event_to_stream(Progress(message=f"wrote a line about {ev.name}"))
        return Line(topic=ev.name, text=f"O {ev.name}, you are {len(ev.name)} letters of wonder")

    @step
    async def assemble(self, lines: list[Line]) -> StopEvent:
        ordered = sorted(lines, key=lambda line: line.topic)
        return StopEvent(result="\n".join(line.text for line in ordered))


async def main() -> None:
    handler = Poem(timeout=30).run(theme="sea, moon, salt, wind, stone")
    async for event in handler.stream_events():
        if isinstance(event, Progress):
            print(f"  … {event.message}")
    print(await handler)


if __name__ == "__main__":
    asyncio.run(main())
