"""What ``stream_events()`` shows: written events in order, internal step-state events on
request, unhandled events, queued deliveries, idleness, and which event a finished step names.
"""

import asyncio

import pytest
from both_libs import Lib, both, drain, names, outcome


@both()
async def test_stream_yields_written_events_in_order_then_stop(lib: Lib) -> None:
    class Progress(lib.Event):
        n: int

    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> A:
            for n in range(3):
                ctx.write_event_to_stream(Progress(n=n))
            return A()

        @lib.step
        async def t(self, ctx: lib.Context, ev: A) -> lib.StopEvent:
            ctx.write_event_to_stream(Progress(n=3))
            return lib.StopEvent(result="done")

    handler = W().run()
    events = await drain(handler)
    assert names(events) == ["Progress"] * 4 + ["StopEvent"]
    assert [e.n for e in events[:-1]] == [0, 1, 2, 3]
    assert await handler == "done"
    with pytest.raises(lib.WorkflowRuntimeError, match="already been consumed"):
        await drain(handler)


@both()
async def test_events_are_buffered_for_a_late_reader(lib: Lib) -> None:
    class Progress(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Progress(n=1))
            ctx.write_event_to_stream(None)
            ctx.write_event_to_stream(Progress(n=2))
            return lib.StopEvent(result=1)

    handler = W().run()
    assert await handler == 1
    events = await drain(handler)
    assert names(events) == ["Progress", "Progress", "StopEvent"]


@both()
async def test_internal_events_show_only_when_asked(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result=1)

    handler = W().run()
    events = await drain(handler, expose_internal=True)
    changes = [
        (e.name, e.step_state.value, e.input_event_name)
        for e in events
        if isinstance(e, lib.StepStateChanged)
    ]
    assert changes[0] == ("s", "running", "StartEvent")
    assert [(n, s) for n, s, _ in changes] == [
        ("s", "running"),
        ("s", "not_running"),
        ("t", "running"),
        ("t", "not_running"),
    ]
    assert names(events)[-1] == "StopEvent"
    assert all(isinstance(e, lib.InternalDispatchEvent) for e in events[:-1])


@both()
async def test_an_event_nobody_accepts_is_reported_as_unhandled(lib: Lib) -> None:
    class Stray(lib.Event):
        pass

    class Started(lib.Event):
        pass

    release = asyncio.Event()

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Started())
            await release.wait()
            return lib.StopEvent(result="done")

    handler = W(timeout=5).run()
    seen = []
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, Started):
            handler.ctx.send_event(Stray())
        if isinstance(ev, lib.UnhandledEvent):
            dump = ev.model_dump()
            assert dump.pop("qualified_name").endswith("Stray")
            seen.append(dump)
            release.set()
    assert seen == [{"event_type": "Stray", "step_name": None, "idle": False}]
    assert await handler == "done"


@both()
async def test_a_queued_delivery_is_announced_as_preparing(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> list[A]:
            return [A(n=1), A(n=2), A(n=3)]

        @lib.step(num_workers=1)
        async def t(self, ev: A) -> A | None:
            for _ in range(3):
                await asyncio.sleep(0)
            return None

        @lib.step
        async def g(self, items: list[A]) -> lib.StopEvent:
            return lib.StopEvent(result=len(items))

    handler = W().run()
    events = await drain(handler, expose_internal=True)
    t_states = [
        (e.step_state.value, e.worker_id)
        for e in events
        if isinstance(e, lib.StepStateChanged) and e.name == "t"
    ]
    assert t_states == [
        ("running", "0"),
        ("preparing", "<enqueued>"),
        ("preparing", "<enqueued>"),
        ("not_running", "0"),
        ("running", "0"),
        ("not_running", "0"),
        ("running", "0"),
        ("not_running", "0"),
    ]
    assert await handler == 3


@both()
async def test_not_running_names_none_output_as_nonetype(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class Two(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> A:
            ctx.send_event(A())
            return None

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result=1)

    handler = Two().run()
    events = await drain(handler, expose_internal=True)
    outputs = [
        e.output_event_name
        for e in events
        if isinstance(e, lib.StepStateChanged)
        and e.name == "s"
        and e.step_state.value == "not_running"
    ]
    assert outputs == ["<class 'NoneType'>"]


@both()
async def test_not_running_names_the_last_fan_out_member(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class B(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> list[A | B]:
            return [{"A": A, "B": B}[m]() for m in ev.members]

        @lib.step
        async def t(self, ev: A) -> None:
            return None

        @lib.step
        async def u(self, ev: B) -> None:
            return None

        @lib.step
        async def g(self, items: list[A]) -> lib.StopEvent:
            return lib.StopEvent()

    seen = []
    for members in ("AB", "BA", ""):
        events = await drain(W().run(members=members), expose_internal=True)
        (name,) = [
            e.output_event_name
            for e in events
            if isinstance(e, lib.StepStateChanged)
            and e.name == "s"
            and e.step_state.value == "not_running"
        ]
        seen.append(name.rsplit(".", 1)[-1])
    assert seen == ["B'>", "A'>", "<class 'NoneType'>"]


@both()
async def test_a_collector_is_triggered_by_a_collection_release_event(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> list[A]:
            return [A(n=1), A(n=2)]

        @lib.step
        async def g(self, items: list[A]) -> lib.StopEvent:
            raise ValueError("g")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            released = ev.input_event
            return lib.StopEvent(result=(type(released).__name__, [a.n for a in released.events]))

    handler = W().run()
    events = await drain(handler, expose_internal=True)
    running = [
        e.input_event_name
        for e in events
        if isinstance(e, lib.StepStateChanged) and e.name == "g" and e.step_state.value == "running"
    ]
    assert running == ["CollectionReleaseEvent"]
    assert await handler == ("CollectionReleaseEvent", [1, 2])


@both()
async def test_a_join_is_named_after_the_event_that_completed_it(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class B(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> A:
            return A(n=1)

        @lib.step
        async def p(self, ev: A) -> B:
            await asyncio.sleep(0)
            return B(n=2)

        @lib.step
        async def join(self, a: A, b: B) -> lib.StopEvent:
            raise ValueError("join")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=type(ev.input_event).__name__)

    handler = W().run()
    events = await drain(handler, expose_internal=True)
    running = [
        e.input_event_name
        for e in events
        if isinstance(e, lib.StepStateChanged)
        and e.name == "join"
        and e.step_state.value == "running"
    ]
    assert running == ["B"]
    assert await handler == "B"


@both()
async def test_a_run_waiting_in_wait_for_event_is_idle(lib: Lib) -> None:
    class Reply(lib.HumanResponseEvent):
        text: str

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            reply = await ctx.wait_for_event(Reply, waiter_event=lib.InputRequiredEvent())
            return lib.StopEvent(result=reply.text)

    handler = W(timeout=0.5).run()
    seen = []
    async for ev in handler.stream_events(expose_internal=True):
        seen.append(type(ev).__name__)
        if isinstance(ev, lib.WorkflowIdleEvent):
            await handler.send_event(Reply(text="t"))
    assert await outcome(handler) == ("ok", "t")
    assert "WorkflowIdleEvent" in seen


@both()
async def test_idle_is_announced_again_after_an_unhandled_event(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> lib.InputRequiredEvent:
            return lib.InputRequiredEvent()

        @lib.step
        async def answer(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=ev.response)

    handler = W(timeout=0.5).run()
    idles = 0
    unhandled = []
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, lib.UnhandledEvent):
            unhandled.append(ev.idle)
        if isinstance(ev, lib.WorkflowIdleEvent):
            idles += 1
            if idles == 1:
                handler.ctx.send_event(lib.Event(stray=True))
            else:
                handler.ctx.send_event(lib.HumanResponseEvent(response="r"))
    assert await outcome(handler) == ("ok", "r")
    assert (unhandled, idles) == ([True], 2)


@both()
async def test_nested_fan_out_collects_inner_results_in_the_outer_stream(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class Sub(lib.Event):
        n: int

    class Res(lib.Event):
        total: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return [Item(n=1), Item(n=2)]

        @lib.step
        async def split(self, ev: Item) -> list[Sub]:
            return [Sub(n=ev.n)] * ev.n

        @lib.step
        async def inner(self, subs: list[Sub]) -> Res:
            return Res(total=len(subs))

        @lib.step
        async def outer(self, res: list[Res]) -> lib.StopEvent:
            return lib.StopEvent(result=sorted(r.total for r in res))

    assert await W(timeout=5).run() == [1, 2]
