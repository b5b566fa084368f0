"""Several things at once: collecting fanned-out events, ``list[E]`` fan-out and fan-in,
``Take(n)``, joins, ``num_workers``, sync steps off the loop thread, and events sent from outside.
"""

import asyncio
import threading
from typing import Annotated

import pytest
from both_libs import Lib, both


@both()
async def test_collect_events_returns_events_in_expected_order_once(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class B(lib.Event):
        n: int

    releases: list[list[tuple[str, int]]] = []

    class W(lib.Workflow):
        @lib.step
        async def start(self, ctx: lib.Context, ev: lib.StartEvent) -> A | B:
            ctx.send_event(B(n=1))
            ctx.send_event(A(n=2))
            ctx.send_event(A(n=3))
            return None

        @lib.step
        async def gather(self, ctx: lib.Context, ev: A | B) -> lib.StopEvent | None:
            got = ctx.collect_events(ev, [A, B, A])
            if got is None:
                return None
            releases.append([(type(e).__name__, e.n) for e in got])
            return lib.StopEvent(result=releases[-1])

    assert await W().run() == [("A", 2), ("B", 1), ("A", 3)]
    assert len(releases) == 1


@both()
async def test_fan_out_list_and_collector_list(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class Done(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return [Item(n=n) for n in range(ev.count)]

        @lib.step
        async def work(self, ev: Item) -> Done | None:
            await asyncio.sleep(0)
            return None if ev.n == 3 else Done(n=ev.n * 10)

        @lib.step
        async def gather(self, items: list[Done]) -> lib.StopEvent:
            return lib.StopEvent(result=sorted(i.n for i in items))

    wf = W()
    assert await wf.run(count=6) == [0, 10, 20, 40, 50]
    assert await wf.run(count=1) == [0]


@both()
async def test_empty_fan_out_gives_the_collector_an_empty_list(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return []

        @lib.step
        async def gather(self, items: list[Item]) -> lib.StopEvent:
            return lib.StopEvent(result=("gathered", len(items)))

    assert await W().run() == ("gathered", 0)


@both()
async def test_take_n_fires_with_the_first_n(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    calls: list[int] = []

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return [Item(n=n) for n in range(5)]

        @lib.step
        async def gather(
            self, items: Annotated[list[Item], lib.Collect(lib.Take(2))]
        ) -> lib.StopEvent:
            calls.append(len(items))
            return lib.StopEvent(result=[i.n for i in items])

    assert await W().run() == [0, 1]
    assert calls == [2]


@both()
async def test_a_step_with_several_event_parameters_joins_them(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class B(lib.Event):
        text: str

    class W(lib.Workflow):
        @lib.step
        async def start(self, ctx: lib.Context, ev: lib.StartEvent) -> A | B:
            ctx.send_event(B(text="b"))
            await asyncio.sleep(0)
            return A(n=1)

        @lib.step
        async def join(self, a: A, b: B) -> lib.StopEvent:
            return lib.StopEvent(result=(a.n, b.text))

    assert await W().run() == (1, "b")


@both()
async def test_num_workers_caps_concurrent_invocations(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class Done(lib.Event):
        n: int

    running = 0
    peak = 0

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ctx: lib.Context, ev: lib.StartEvent) -> Item | None:
            for n in range(6):
                ctx.send_event(Item(n=n))
            return None

        @lib.step(num_workers=2)
        async def work(self, ev: Item) -> Done:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            for _ in range(5):
                await asyncio.sleep(0)
            running -= 1
            return Done(n=ev.n)

        @lib.step
        async def gather(self, ctx: lib.Context, ev: Done) -> lib.StopEvent | None:
            got = ctx.collect_events(ev, [Done] * 6)
            if got is None:
                return None
            return lib.StopEvent(result=sorted(d.n for d in got))

    assert await W().run() == [0, 1, 2, 3, 4, 5]
    assert peak == 2


@both()
async def test_sync_steps_run_off_the_event_loop_thread(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        def first(self, ev: lib.StartEvent) -> A:
            return A(n=threading.current_thread() is threading.main_thread())

        @lib.step
        def second(self, ctx: lib.Context, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result=("main" if ev.n else "worker"))

    assert await W().run() == "worker"


@both()
async def test_order_of_sent_and_returned_events_differs_on_purpose(lib: Lib) -> None:
    """stepwork delivers events in the order the step produced them (docs/porting.md)."""

    class X(lib.Event):
        n: int

    seen: list[int] = []

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> X:
            ctx.send_event(X(n=1))
            ctx.send_event(X(n=2))
            return X(n=3)

        @lib.step(num_workers=1)
        async def t(self, ctx: lib.Context, ev: X) -> lib.StopEvent | None:
            seen.append(ev.n)
            if ctx.collect_events(ev, [X] * 3) is None:
                return None
            return lib.StopEvent(result=seen)

    assert await W().run() == ([3, 1, 2] if lib.name == "anchor" else [1, 2, 3])


@both()
async def test_a_stop_event_sent_from_outside_differs_on_purpose(lib: Lib) -> None:
    """stepwork ends the run with it; the anchor reports it unhandled (docs/porting.md)."""

    class Started(lib.Event):
        pass

    release = asyncio.Event()

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Started())
            await release.wait()
            return lib.StopEvent(result="returned")

    handler = W(timeout=5).run()
    unhandled = []
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, Started):
            handler.ctx.send_event(lib.StopEvent(result="sent"))
        if isinstance(ev, lib.UnhandledEvent):
            unhandled.append(ev.event_type)
            release.set()
    if lib.name == "anchor":
        assert unhandled == ["StopEvent"] and await handler == "returned"
    else:
        assert unhandled == [] and await handler == "sent"


@both()
async def test_sending_to_a_finished_run_differs_on_purpose(lib: Lib) -> None:
    """stepwork raises instead of dropping the event silently (docs/porting.md)."""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result=1)

    handler = W().run()
    assert await handler == 1
    if lib.name == "anchor":
        handler.ctx.send_event(lib.Event(late=True))
    else:
        with pytest.raises(lib.WorkflowRuntimeError, match="already finished"):
            handler.ctx.send_event(lib.Event(late=True))
