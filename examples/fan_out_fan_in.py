"""Fan-out / fan-in, two ways.

1. Typed: a step returns ``list[E]`` (each member becomes its own event, handled in parallel)
   and another step takes ``list[E]``: it fires once, when every member has been handled.
   ``Annotated[list[E], Collect(Take(n))]`` fires as soon as the first ``n`` have arrived.
2. By hand: ``ctx.send_event`` sends events one by one and ``ctx.collect_events`` buffers the
   results until as many as expected have arrived.

Run it with ``python examples/fan_out_fan_in.py``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from stepwork import Collect, Context, Event, StartEvent, StopEvent, Take, Workflow, step

# How long each (pretend) download takes, so the arrival order is predictable.
DELAYS = {"a.txt": 0.15, "b.txt": 0.05, "c.txt": 0.10}


class Page(Event):
    """One page to fetch."""

    url: str


class Fetched(Event):
    """A fetched page."""

    url: str
    size: int


class FirstTwo(Event):
    """Streamed when the two fastest pages are in."""

    urls: list[str]


# -- 1. typed fan-out: return list[E], take list[E] -----------------------------------------------


class TypedFanOut(Workflow):
    @step
    async def split(self, ev: StartEvent) -> list[Page]:
        # Returning a list fans out: every Page is delivered separately.
        return [Page(url=url) for url in ev.urls]

    @step(num_workers=4)  # up to four fetches at once
    async def fetch(self, ev: Page) -> Fetched:
        await asyncio.sleep(DELAYS[ev.url])  # stands in for network I/O
        return Fetched(url=ev.url, size=len(ev.url) * 100)

    @step
    async def fastest(
        self, ctx: Context, first: Annotated[list[Fetched], Collect(Take(2))]
    ) -> None:
        # Take(2): fires on the second arrival, while the slowest fetch is still running.
        ctx.write_event_to_stream(FirstTwo(urls=[page.url for page in first]))

    @step
    async def combine(self, pages: list[Fetched]) -> StopEvent:
        # A plain list[E] collector fires once, after every fanned-out Page was handled.
        arrival = [page.url for page in pages]
        total = sum(page.size for page in pages)
        return StopEvent(result=f"{len(pages)} pages, {total} bytes, arrived {arrival}")


# -- 2. by hand: ctx.send_event + ctx.collect_events --------------------------------------------


class ManualFanOut(Workflow):
    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Page | None:
        await ctx.store.set("expected", len(ev.urls))
        for url in ev.urls:
            ctx.send_event(Page(url=url))
        return None  # nothing to return: the events were sent

    @step(num_workers=4)
    async def fetch(self, ev: Page) -> Fetched:
        await asyncio.sleep(DELAYS[ev.url])
        return Fetched(url=ev.url, size=len(ev.url) * 100)

    @step
    async def combine(self, ctx: Context, ev: Fetched) -> StopEvent | None:
        expected = await ctx.store.get("expected")
        pages = ctx.collect_events(ev, [Fetched] * expected)
        if pages is None:
            print(f"  combine: got {ev.url}, waiting for more")
            return None  # not all in yet
        return StopEvent(result=f"collected {len(pages)} pages: {[p.url for p in pages]}")


async def main() -> None:
    urls = list(DELAYS)

    print("typed fan-out (list[Page] -> list[Fetched]):")
    handler = TypedFanOut(timeout=10).run(urls=urls)
    async for event in handler.stream_events():
        if isinstance(event, FirstTwo):
            print(f"  Take(2) fired first with {event.urls}")
    print(f"  result: {await handler}")

    print("manual fan-out (ctx.send_event + ctx.collect_events):")
    result = await ManualFanOut(timeout=10).run(urls=urls)
    print(f"  result: {result}")


if __name__ == "__main__":
    asyncio.run(main())
