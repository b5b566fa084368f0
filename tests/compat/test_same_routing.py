"""Routing and results: which steps an event reaches and what ``run()`` gives back.

Also how a workflow is put together (subclasses, free-function steps, introspection) and the
configuration mistakes both libraries refuse before a run starts.
"""

import asyncio
import gc
import warnings

import pytest
from both_libs import Lib, both, drain, names


@both()
async def test_linear_routing_by_exact_type(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def first(self, ev: lib.StartEvent) -> A:
            return A(n=ev.x + 1)

        @lib.step
        async def second(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result=ev.n * 10)

    assert await W().run(x=2) == 30


@both()
async def test_an_event_is_broadcast_to_every_accepting_step(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class B(lib.Event):
        who: str

    class C(lib.Event):
        who: str

    class Seen(lib.Event):
        who: str

    class W(lib.Workflow):
        @lib.step
        async def start(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def left(self, ctx: lib.Context, ev: A) -> B:
            ctx.write_event_to_stream(Seen(who="left"))
            return B(who="left")

        @lib.step
        async def right(self, ctx: lib.Context, ev: A) -> C:
            ctx.write_event_to_stream(Seen(who="right"))
            return C(who="right")

        @lib.step
        async def gather(self, ctx: lib.Context, ev: B | C) -> lib.StopEvent | None:
            got = ctx.collect_events(ev, [C, B])
            if got is None:
                return None
            return lib.StopEvent(result=[(type(e).__name__, e.who) for e in got])

    handler = W().run()
    events = await drain(handler)
    assert sorted(e.who for e in events if isinstance(e, Seen)) == ["left", "right"]
    assert names(events)[-1] == "StopEvent"
    assert await handler == [("C", "right"), ("B", "left")]


@both()
async def test_plain_stop_event_returns_its_result_and_a_subclass_returns_itself(lib: Lib) -> None:
    class Done(lib.StopEvent):
        value: int

    class Plain(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result={"k": [1, 2]})

    class Sub(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> Done:
            return Done(value=7)

    assert await Plain().run() == {"k": [1, 2]}
    handler = Sub().run()
    result = await handler
    assert type(result) is Done and result.value == 7
    events = await drain(handler)
    assert names(events) == ["Done"] and events[0] is result


@both()
async def test_custom_start_event_is_built_from_keyword_arguments(lib: Lib) -> None:
    class Begin(lib.StartEvent):
        topic: str
        times: int = 1

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: Begin) -> lib.StopEvent:
            return lib.StopEvent(result=ev.topic * ev.times)

    wf = W()
    assert wf.start_event_class is Begin
    assert await wf.run(topic="ab", times=2) == "abab"
    assert await wf.run(start_event=Begin(topic="x")) == "x"


@both()
async def test_bad_start_event_keyword_arguments_are_a_runtime_error(lib: Lib) -> None:
    class Begin(lib.StartEvent):
        topic: str

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: Begin) -> lib.StopEvent:
            return lib.StopEvent(result=ev.topic)

    with pytest.raises(lib.WorkflowRuntimeError) as info:
        W().run(wrong=1)  # raised by run() itself, before a handler exists
    assert str(info.value).startswith(
        "Failed creating a start event of type 'Begin' with the keyword arguments: {'wrong': 1}"
    )


@both()
async def test_plain_start_event_takes_arbitrary_fields(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result=(ev.topic, ev.get("n"), ev.get("missing", "d"), len(ev)))

    assert await W().run(topic="t", n=3) == ("t", 3, "d", 2)


@both()
async def test_subclasses_inherit_steps_and_override_them_by_name(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class Base(lib.Workflow):
        @lib.step
        async def start(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def finish(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result="base")

    class Child(Base):
        @lib.step
        async def finish(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result="child")

    assert await Base().run() == "base"
    assert await Child().run() == "child"


@both()
async def test_free_function_steps_are_added_to_one_class(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def start(self, ev: lib.StartEvent) -> A:
            return A()

    @lib.step(workflow=W)
    async def finish(ev: A) -> lib.StopEvent:
        return lib.StopEvent(result="free")

    assert await W().run() == "free"


@both()
def test_configuration_errors_at_construction(lib: Lib) -> None:
    class NoStart(lib.Workflow):
        pass

    with pytest.raises(lib.WorkflowConfigurationError, match="StartEvent"):
        NoStart()

    class NoStop(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> None:
            return None

    with pytest.raises(lib.WorkflowConfigurationError, match="StopEvent"):
        NoStop()
    assert not issubclass(lib.WorkflowConfigurationError, lib.WorkflowValidationError)


@both()
def test_bad_step_signatures_fail_at_decoration(lib: Lib) -> None:
    with pytest.raises(lib.WorkflowValidationError):

        class NoEvent(lib.Workflow):
            @lib.step
            async def s(self, x: int) -> lib.StopEvent:
                return lib.StopEvent()

    with pytest.raises(lib.WorkflowValidationError, match="num_workers"):

        class BadWorkers(lib.Workflow):
            @lib.step(num_workers=0)
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent()


@both()
async def test_steps_can_opt_in_to_event_subclasses(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class Sub(A):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> Sub | A:
            return Sub()

        @lib.step
        async def exact(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result="exact")

        @lib.step(accept_event_subclasses=True)
        async def loose(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result="loose")

    assert await W().run() == "loose"


@both()
async def test_workflow_introspection(lib: Lib) -> None:
    class Ask(lib.InputRequiredEvent):
        pass

    class A(lib.Event):
        pass

    class Plain(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent()

    class Human(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> Ask:
            return Ask()

        @lib.step
        async def t(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent()

    wf = Plain()
    assert (wf.validate(), Human().validate()) == (False, True)
    assert sorted(e.__name__ for e in wf.events) == ["A", "StartEvent", "StopEvent"]
    assert wf.workflow_name.endswith("test_workflow_introspection.<locals>.Plain")
    assert Plain(workflow_name="named").workflow_name == "named"
    assert (wf.start_event_class, wf.stop_event_class) == (lib.StartEvent, lib.StopEvent)


@both()
async def test_run_id_and_num_concurrent_runs(lib: Lib) -> None:
    running = 0
    peak = 0

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            for _ in range(5):
                await asyncio.sleep(0)
            running -= 1
            return lib.StopEvent(result=ev.n)

    wf = W(num_concurrent_runs=1)
    handler = wf.run(run_id="my-run", n=0)
    assert handler.run_id == "my-run"
    assert len(wf.run(n=1).run_id) == 10
    assert await asyncio.gather(handler, *(wf.run(n=n) for n in (2, 3))) == [0, 2, 3]
    assert peak == 1
    for bad in (0, True, -1, 1.5):
        with pytest.raises(lib.WorkflowValidationError):
            W(num_concurrent_runs=bad)


@both()
def test_run_needs_a_running_event_loop(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    with warnings.catch_warnings():
        # The anchor leaves a never-awaited coroutine behind; that is not under test here.
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(RuntimeError, match="no running event loop"):
            W().run()
        gc.collect()


@both()
async def test_wrong_start_event_type_is_a_value_error(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    with pytest.raises(ValueError, match="StartEvent"):
        W().run(start_event=lib.Event(a=1))
