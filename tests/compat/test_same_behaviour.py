"""The same small programs, run against LlamaIndex Workflows 2.26.1 (the anchor) and stepwork.

Each scenario is written once against a namespace ``lib`` (the public names of either library)
and parametrized over both, so a test passing for both ids means both libraries give the same
observable result: result values, the streamed event type names, error types and the key part
of messages, event model dumps.

Section numbers refer to the ranked list in ``/work/shared/reference/anchor-behaviour.md`` §5.
Where stepwork deliberately differs (README "Porting"), a ``test_difference_*`` test asserts
each library's own behaviour, so the difference is written down rather than skipped.
"""

import asyncio
import copy
import gc
import json
import pickle
import threading
import types
import warnings
from collections.abc import Callable
from typing import Annotated, Any

import pytest
import workflows
import workflows.collect
import workflows.errors
import workflows.events
import workflows.retry_policy
import workflows.testing
from pydantic import BaseModel, Field, PrivateAttr

import stepwork
import stepwork.collect
import stepwork.errors
import stepwork.events
import stepwork.retry_policy
import stepwork.testing


def _namespace(name: str, *modules: types.ModuleType) -> types.SimpleNamespace:
    lib = types.SimpleNamespace(name=name)
    for module in modules:
        for key in dir(module):
            if not key.startswith("_"):
                setattr(lib, key, getattr(module, key))
    root = modules[0]
    for key in ("Workflow", "Context", "step", "catch_error"):
        setattr(lib, key, getattr(root, key))
    return lib


ANCHOR = _namespace(
    "anchor",
    workflows,
    workflows.events,
    workflows.errors,
    workflows.retry_policy,
    workflows.collect,
)
STEPWORK = _namespace(
    "stepwork",
    stepwork,
    stepwork.events,
    stepwork.errors,
    stepwork.retry_policy,
    stepwork.collect,
)


def both(stepwork_xfail: str | None = None) -> pytest.MarkDecorator:
    """Parametrize a test over both libraries; ``stepwork_xfail`` marks a known stepwork bug."""
    marks = [pytest.mark.xfail(strict=True, reason=stepwork_xfail)] if stepwork_xfail else []
    return pytest.mark.parametrize(
        "lib",
        [pytest.param(ANCHOR, id="anchor"), pytest.param(STEPWORK, id="stepwork", marks=marks)],
    )


Lib = Any


# -- helpers ---------------------------------------------------------------------------------


async def drain(handler: Any, expose_internal: bool = False) -> list[Any]:
    return [ev async for ev in handler.stream_events(expose_internal=expose_internal)]


def names(events: list[Any]) -> list[str]:
    return [type(ev).__name__ for ev in events]


async def outcome(handler: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("error", ExceptionTypeName)`` for an awaited handler."""
    try:
        return "ok", await handler
    except Exception as error:
        return "error", type(error).__name__


# -- 1. routing and results --------------------------------------------------------------------


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


# -- 2. failures -------------------------------------------------------------------------------


@both()
async def test_step_exception_is_reraised_and_the_stream_ends_failed(lib: Lib) -> None:
    class Boom(Exception):
        pass

    class Started(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def explode(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Started())
            raise Boom("kaboom")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(Boom, match="kaboom"):
        await handler
    assert names(events) == ["Started", "WorkflowFailedEvent"]
    failed = events[-1]
    assert isinstance(failed, lib.WorkflowFailedEvent)
    assert (failed.step_name, failed.attempts) == ("explode", 1)
    assert isinstance(failed, lib.StopEvent)


@both()
async def test_a_non_event_return_value_fails_the_run(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return "oops"  # type: ignore[return-value]

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(lib.WorkflowRuntimeError) as info:
        await handler
    assert "Step function s returned str instead of an Event instance" in str(info.value)
    assert names(events) == ["WorkflowFailedEvent"]
    assert events[0].step_name == "s"


# -- 5. streaming ------------------------------------------------------------------------------


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


# -- 8. human in the loop ----------------------------------------------------------------------


@both()
async def test_input_required_and_human_response_through_the_stream(lib: Lib) -> None:
    class Ask(lib.InputRequiredEvent):
        question: str

    class Reply(lib.HumanResponseEvent):
        text: str

    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> Ask:
            return Ask(question="name?")

        @lib.step
        async def answer(self, ev: Reply) -> lib.StopEvent:
            return lib.StopEvent(result=f"hello {ev.text}")

    handler = W().run()
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, Ask):
            assert ev.question == "name?"
            await handler.send_event(Reply(text="ada"))
    assert seen == ["Ask", "StopEvent"]
    assert await handler == "hello ada"


@both()
async def test_human_response_through_the_handler_context(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> lib.InputRequiredEvent:
            return lib.InputRequiredEvent(prefix="> ")

        @lib.step
        async def answer(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=ev.response)

    handler = W().run()
    async for ev in handler.stream_events():
        if isinstance(ev, lib.InputRequiredEvent):
            handler.ctx.send_event(lib.HumanResponseEvent(response=ev.prefix + "yes"))
    assert await handler == "> yes"


# -- 7. the state store ------------------------------------------------------------------------


@both()
async def test_store_get_set_dotted_paths_and_defaults(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            store = ctx.store
            await store.set("a", 1)
            await store.set("b.c", 2)
            await store.set("items", [10, 20, 30])
            await store.set("deep", {"x": {"y": "z"}})
            seen = [
                await store.get("a"),
                await store.get("b"),
                await store.get("b.c"),
                await store.get("items.1"),
                await store.get("deep.x.y"),
                await store.get("missing", default=5),
                await store.get("b.nope", default=None),
            ]
            try:
                await store.get("missing")
            except ValueError as error:
                seen.append(str(error))
            return lib.StopEvent(result=seen)

    handler = W().run()
    assert await handler == [
        1,
        {"c": 2},
        2,
        20,
        "z",
        5,
        None,
        "Path 'missing' not found in state",
    ]
    assert await handler.ctx.store.get("b.c") == 2


@both()
async def test_store_state_object_supports_item_and_attribute_access(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            await ctx.store.set("k", "v")
            state = await ctx.store.get_state()
            async with ctx.store.edit_state() as editing:
                editing["n"] = 1
            after = await ctx.store.get_state()
            return lib.StopEvent(result=(state["k"], state.k, after["n"], type(state).__name__))

    assert await W().run() == ("v", "v", 1, "DictState")


@both()
async def test_typed_state_with_a_context_model(lib: Lib) -> None:
    class Counter(BaseModel):
        count: int = 0
        names: list[str] = []

    class Tick(lib.Event):
        name: str

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context[Counter], ev: lib.StartEvent) -> Tick:
            async with ctx.store.edit_state() as state:
                state.count += 1
                state.names.append("s")
            return Tick(name="t")

        @lib.step
        async def t(self, ctx: lib.Context[Counter], ev: Tick) -> lib.StopEvent:
            await ctx.store.set("count", (await ctx.store.get("count")) + 10)
            state = await ctx.store.get_state()
            return lib.StopEvent(result=(type(state).__name__, state.count, state.names))

    handler = W().run()
    assert await handler == ("Counter", 11, ["s"])
    final = await handler.ctx.store.get_state()
    assert isinstance(final, Counter) and final.count == 11


@both()
async def test_rerunning_the_same_context_keeps_the_state(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            count = await ctx.store.get("count", default=0)
            await ctx.store.set("count", count + 1)
            return lib.StopEvent(result=count + 1)

    wf = W()
    first = wf.run()
    assert await first == 1
    second = wf.run(ctx=first.ctx)
    assert await second == 2
    assert await wf.run() == 1


@both()
async def test_pre_run_writes_seed_the_run(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result=await ctx.store.get("seed"))

    wf = W()
    ctx = lib.Context(wf)
    await ctx.store.set("seed", "planted")
    assert await wf.run(ctx=ctx) == "planted"


# -- 11. retries and @catch_error --------------------------------------------------------------


@both()
async def test_stop_after_attempt_three_means_three_executions(lib: Lib) -> None:
    infos: list[tuple[int, str | None]] = []

    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(
                retry=lib.retry_if_exception_type(ValueError),
                wait=lib.wait_fixed(0),
                stop=lib.stop_after_attempt(3),
            )
        )
        async def flaky(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            info = ctx.retry_info()
            last = info.last_exception
            infos.append((info.retry_number, None if last is None else str(last)))
            raise ValueError(f"try {info.retry_number}")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(ValueError, match="try 2"):
        await handler
    assert infos == [(0, None), (1, "try 0"), (2, "try 1")]
    failed = events[-1]
    assert isinstance(failed, lib.WorkflowFailedEvent)
    assert (failed.step_name, failed.attempts) == ("flaky", 3)


@both()
async def test_a_retried_step_may_succeed(lib: Lib) -> None:
    calls: list[int] = []

    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(wait=lib.wait_fixed(0), stop=lib.stop_after_attempt(5))
        )
        async def flaky(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            info = ctx.retry_info()
            calls.append(info.retry_number)
            if len(calls) < 3:
                raise RuntimeError("not yet")
            assert info.last_failed_at is not None and info.elapsed_seconds >= 0
            return lib.StopEvent(result=type(info.last_exception).__name__)

    assert await W().run() == "RuntimeError"
    assert calls == [0, 1, 2]


@both()
async def test_retry_condition_that_does_not_match_fails_at_once(lib: Lib) -> None:
    calls: list[int] = []

    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(
                retry=lib.retry_if_exception_type(KeyError),
                wait=lib.wait_fixed(0),
                stop=lib.stop_after_attempt(5),
            )
        )
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            calls.append(1)
            raise ValueError("not retried")

    with pytest.raises(ValueError, match="not retried"):
        await W().run()
    assert calls == [1]


@both()
async def test_constant_delay_maximum_attempts_counts_executions(lib: Lib) -> None:
    calls: list[int] = []
    with pytest.warns(DeprecationWarning, match="ConstantDelayRetryPolicy is deprecated"):
        policy = lib.ConstantDelayRetryPolicy(delay=0, maximum_attempts=2)

    class W(lib.Workflow):
        @lib.step(retry_policy=policy)
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            calls.append(1)
            raise ValueError("always")

    with pytest.raises(ValueError):
        await W().run()
    assert len(calls) == 2


@both()
async def test_catch_error_recovers_a_failed_step(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def explode(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise KeyError("gone")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(
                result=(
                    ev.step_name,
                    type(ev.exception).__name__,
                    ev.attempts,
                    type(ev.input_event).__name__,
                )
            )

    handler = W().run()
    events = await drain(handler)
    assert names(events) == ["StopEvent"]
    assert await handler == ("explode", "KeyError", 1, "StartEvent")


@both()
async def test_catch_error_gives_up_after_max_recoveries(lib: Lib) -> None:
    class Again(lib.Event):
        pass

    handled: list[str] = []

    class W(lib.Workflow):
        @lib.step
        async def explode(self, ev: lib.StartEvent | Again) -> lib.StopEvent:
            raise KeyError(type(ev).__name__)

        @lib.catch_error(max_recoveries=2)
        async def recover(self, ev: lib.StepFailedEvent) -> Again:
            handled.append(str(ev.exception))
            return Again()

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(KeyError):
        await handler
    assert handled == ["'StartEvent'", "'Again'"]
    assert names(events) == ["WorkflowFailedEvent"]
    assert events[-1].step_name == "explode"


@both()
async def test_scoped_catch_error_handlers_win_over_the_wildcard(lib: Lib) -> None:
    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def first(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def second(self, ev: A) -> lib.StopEvent:
            raise ValueError("second")

        @lib.catch_error(for_steps=["second"])
        async def scoped(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=f"scoped:{ev.step_name}")

        @lib.catch_error
        async def wildcard(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=f"wildcard:{ev.step_name}")

    assert await W().run() == "scoped:second"


# -- 12. send_event ----------------------------------------------------------------------------


@both()
async def test_send_event_targets_one_step_and_checks_the_target(lib: Lib) -> None:
    class A(lib.Event):
        n: int

    class B(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def start(self, ctx: lib.Context, ev: lib.StartEvent) -> A | None:
            errors = []
            for target, event in (("nope", A(n=0)), ("left", B())):
                try:
                    ctx.send_event(event, step=target)
                except lib.WorkflowRuntimeError as error:
                    errors.append(str(error))
            await ctx.store.set("errors", errors)
            ctx.send_event(A(n=1), step="right")
            return None

        @lib.step
        async def left(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result=f"left {ev.n}")

        @lib.step
        async def right(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result=f"right {ev.n}")

    handler = W().run()
    assert await handler == "right 1"
    nope, wrong = await handler.ctx.store.get("errors")
    assert nope.startswith("Step nope does not exist")
    assert wrong.startswith("Step left does not accept event of type")
    assert "B" in wrong


@both()
async def test_send_event_before_running_is_a_context_state_error(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    ctx = lib.Context(W())
    with pytest.raises(lib.ContextStateError):
        ctx.send_event(lib.Event())


# -- 10. concurrency and fan-in ----------------------------------------------------------------


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


# -- inheritance -------------------------------------------------------------------------------


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


# -- 13. events --------------------------------------------------------------------------------


@both()
def test_event_dynamic_fields_and_mapping_api(lib: Lib) -> None:
    class E(lib.Event):
        a: int

    ev = E(a=1, b=2)
    assert (ev.a, ev.b, ev["b"]) == (1, 2, 2)
    assert "b" in ev and "a" not in ev
    assert (len(ev), list(ev), list(ev.keys()), list(ev.values()), list(ev.items())) == (
        1,
        ["b"],
        ["b"],
        [2],
        [("b", 2)],
    )
    assert ev.get("a") is None and ev.get("b") == 2 and ev.get("zz", 9) == 9
    with pytest.raises(KeyError):
        ev["a"]
    ev.c = 3
    ev["d"] = 4
    ev.a = 5
    assert ev.to_dict() == {"b": 2, "c": 3, "d": 4}
    assert ev.model_dump() == {"a": 5, "_data": {"b": 2, "c": 3, "d": 4}}
    assert E(a=1).model_dump() == {"a": 1}
    assert bool(lib.Event()) is True
    with pytest.raises(AttributeError, match="'E' object has no attribute 'nope'"):
        ev.nope  # noqa: B018


@both()
def test_event_private_attributes_and_required_fields(lib: Lib) -> None:
    class P(lib.Event):
        _secret: int = PrivateAttr(default=0)
        visible: str = "v"

    p = P(_secret=5, extra=1)
    assert p._secret == 5 and p.visible == "v" and p.extra == 1
    assert p.model_dump() == {"visible": "v", "_data": {"extra": 1}}

    class R(lib.Event):
        needed: int

    with pytest.raises(ValueError):
        R()


@both()
def test_stop_event_dump_str_and_result(lib: Lib) -> None:
    stop = lib.StopEvent(result={"x": 1}, extra="dropped")
    assert stop.result == {"x": 1}
    assert stop.model_dump() == {"result": {"x": 1}}
    assert str(stop) == "{'x': 1}"
    assert lib.StopEvent().model_dump() == {}
    assert lib.StopEvent().result is None

    class Done(lib.StopEvent):
        value: int

    assert Done(value=3).model_dump() == {"value": 3}
    assert Done(value=3, result=4).model_dump() == {"value": 3, "result": 4}


@both()
def test_framework_event_fields(lib: Lib) -> None:
    timed_out = lib.WorkflowTimedOutEvent(timeout=1.5, active_steps=["a"])
    assert timed_out.model_dump() == {"timeout": 1.5, "active_steps": ["a"]}
    assert isinstance(lib.WorkflowCancelledEvent(), lib.StopEvent)
    changed = lib.StepStateChanged(
        name="s", step_state=lib.StepState.RUNNING, worker_id="0", input_event_name="A"
    )
    assert changed.model_dump(mode="json") == {
        "name": "s",
        "step_state": "running",
        "worker_id": "0",
        "input_event_name": "A",
        "output_event_name": None,
    }
    assert [s.value for s in lib.StepState] == ["preparing", "running", "not_running"]


# -- 3. timeouts and 4. cancellation ----------------------------------------------------------


@both()
async def test_run_timeout_raises_and_names_the_active_steps(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def hang(self, ev: lib.StartEvent) -> lib.StopEvent:
            await asyncio.Event().wait()
            return lib.StopEvent()

    handler = W(timeout=0.2).run()
    events = await drain(handler)
    with pytest.raises(lib.WorkflowTimeoutError) as info:
        await handler
    assert str(info.value) == "Operation timed out after 0.2 seconds. Currently active steps: hang"
    assert names(events) == ["WorkflowTimedOutEvent"]
    assert events[0].timeout == 0.2 and events[0].active_steps == ["hang"]


@both()
async def test_cancel_run_ends_the_stream_and_raises_cancelled_by_user(lib: Lib) -> None:
    class Started(lib.Event):
        pass

    cancelled: list[bool] = []

    class W(lib.Workflow):
        @lib.step
        async def hang(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Started())
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise
            return lib.StopEvent()

    handler = W(timeout=None).run()
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, Started):
            await handler.cancel_run()
    assert seen == ["Started", "WorkflowCancelledEvent"]
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler
    assert cancelled == [True]


@both()
async def test_stop_event_cancels_sibling_workers(lib: Lib) -> None:
    class A(lib.Event):
        pass

    slow_started = asyncio.Event()
    slow_cancelled = asyncio.get_running_loop().create_future()

    class W(lib.Workflow):
        @lib.step
        async def start(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def slow(self, ev: A) -> lib.StopEvent:
            slow_started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                slow_cancelled.set_result("slow")
                raise
            return lib.StopEvent(result="slow")

        @lib.step
        async def fast(self, ev: A) -> lib.StopEvent:
            await slow_started.wait()
            return lib.StopEvent(result="fast")

    assert await W(timeout=5).run() == "fast"
    assert await asyncio.wait_for(slow_cancelled, 5) == "slow"


# -- context faces -----------------------------------------------------------------------------


@both()
async def test_running_a_context_that_is_still_running_is_refused(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def hang(self, ev: lib.StartEvent) -> lib.StopEvent:
            await asyncio.Event().wait()
            return lib.StopEvent()

    wf = W(timeout=None)
    handler = wf.run()
    with pytest.raises(lib.ContextStateError, match="already running"):
        wf.run(ctx=handler.ctx)
    await handler.cancel_run()
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler


@both()
async def test_step_context_helpers_outside_steps(lib: Lib) -> None:
    with pytest.raises(lib.WorkflowRuntimeError):
        lib.Context.get_step_context()


# -- construction-time configuration errors (same on both) ------------------------------------


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


# -- more behaviour shared by both ------------------------------------------------------------


@both()
async def test_wait_for_event_honours_requirements_and_publishes_the_waiter_event_once(
    lib: Lib,
) -> None:
    class Ask(lib.InputRequiredEvent):
        question: str

    class Reply(lib.HumanResponseEvent):
        text: str
        who: str = ""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            reply = await ctx.wait_for_event(
                Reply, waiter_event=Ask(question="?"), requirements={"who": "me"}
            )
            return lib.StopEvent(result=reply.text)

    handler = W(timeout=5).run()
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, Ask):
            handler.ctx.send_event(Reply(text="not for you", who="other"))
            handler.ctx.send_event(Reply(text="yes", who="me"))
    assert seen == ["Ask", "StopEvent"]
    assert await handler == "yes"


@both()
async def test_wait_for_event_timeout_raises_inside_the_step(lib: Lib) -> None:
    class Reply(lib.HumanResponseEvent):
        text: str

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            try:
                await ctx.wait_for_event(Reply, timeout=0.05)
            except TimeoutError as error:
                return lib.StopEvent(result=type(error).__name__)
            return lib.StopEvent(result="answered")

    assert await W(timeout=5).run() == "TimeoutError"


@both()
async def test_a_run_waiting_for_people_times_out_with_no_steps_active(lib: Lib) -> None:
    """Anchor: the run timeout counts the time spent waiting for a person. stepwork: it does
    not (docs/porting.md); the run waits for the answer however long it takes."""

    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> lib.InputRequiredEvent:
            return lib.InputRequiredEvent(prefix="?")

        @lib.step
        async def answer(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=ev.response)

    if lib is not ANCHOR:
        clock = stepwork.testing.ManualClock()
        handler = W(timeout=0.2, clock=clock).run()
        async for ev in handler.stream_events(expose_internal=True):
            if isinstance(ev, lib.WorkflowIdleEvent):
                break
        await clock.advance(3_600)
        assert not handler.done()
        handler.ctx.send_event(lib.HumanResponseEvent(response="an hour later"))
        assert await handler == "an hour later"
        return
    handler = W(timeout=0.2).run()
    events = await drain(handler, expose_internal=True)
    public = [n for n in names(events) if n != "StepStateChanged"]
    assert public == ["InputRequiredEvent", "WorkflowIdleEvent", "WorkflowTimedOutEvent"]
    with pytest.raises(lib.WorkflowTimeoutError) as info:
        await handler
    assert str(info.value) == "Operation timed out after 0.2 seconds. No steps active"
    assert events[-1].active_steps == []


@both()
async def test_a_mid_run_snapshot_resumes_without_a_new_start_event(lib: Lib) -> None:
    class Ask(lib.InputRequiredEvent):
        pass

    class Reply(lib.HumanResponseEvent):
        text: str

    starts: list[int] = []

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> Ask:
            starts.append(1)
            await ctx.store.set("topic", ev.topic)
            return Ask()

        @lib.step
        async def t(self, ctx: lib.Context, ev: Reply) -> lib.StopEvent:
            return lib.StopEvent(result=(await ctx.store.get("topic"), ev.text))

    wf = W(timeout=5)
    handler = wf.run(topic="t")
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
            await handler.cancel_run()
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler
    restored = lib.Context.from_dict(wf, snapshot)
    assert restored.is_running
    resumed = wf.run(ctx=restored)
    await resumed.send_event(Reply(text="hi"))
    assert await resumed == ("t", "hi")
    assert starts == [1]


@both()
async def test_state_store_errors_keep_their_builtin_classes(lib: Lib) -> None:
    class S1(BaseModel):
        a: int = 0

    class S2(BaseModel):
        b: int = 0

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context[S1], ev: lib.StartEvent) -> lib.StopEvent:
            seen: list[Any] = []
            try:
                async with ctx.store.edit_state():
                    await ctx.store.set("a", 2)
            except RuntimeError as error:
                seen.append(str(error).startswith("writer called inside edit_state"))
            try:
                await ctx.store.set_state(S2())
            except ValueError as error:
                seen.append(str(error))
            try:
                await ctx.store.set("", 1)
            except ValueError:
                seen.append("empty path")
            await ctx.store.set("a", 5)
            await ctx.store.clear()
            seen.append(await ctx.store.get("a"))
            return lib.StopEvent(result=seen)

    assert await W().run() == [
        True,
        "State must be of type S1 or a parent type, got S2",
        "empty path",
        0,
    ]

    class Mixed(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context[S1], ev: lib.StartEvent) -> lib.Event:
            return lib.Event()

        @lib.step
        async def t(self, ctx: lib.Context[S2], ev: lib.Event) -> lib.StopEvent:
            return lib.StopEvent()

    with pytest.raises(ValueError, match="Multiple state types are not in a compatible"):
        await Mixed().run()


@both()
async def test_typed_state_takes_the_most_derived_model_and_merges_a_parent(lib: Lib) -> None:
    class Base(BaseModel):
        a: int = 0

    class Child(Base):
        b: str = "x"

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context[Base], ev: lib.StartEvent) -> lib.Event:
            return lib.Event()

        @lib.step
        async def t(self, ctx: lib.Context[Child], ev: lib.Event) -> lib.StopEvent:
            await ctx.store.set("b", "y")
            await ctx.store.set_state(Base(a=5))
            state = await ctx.store.get_state()
            return lib.StopEvent(result=(type(state).__name__, state.a, state.b))

    assert await W().run() == ("Child", 5, "y")


@both()
async def test_values_from_the_store_are_shared_references(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            await ctx.store.set("items", [1])
            (await ctx.store.get("items")).append(2)
            await ctx.store.set("m", {"k": [{"z": 1}]})
            await ctx.store.set("m.k.0.z", 2)
            return lib.StopEvent(result=(await ctx.store.get("items"), await ctx.store.get("m")))

    assert await W().run() == ([1, 2], {"k": [{"z": 2}]})


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
async def test_catch_error_runs_after_retries_are_exhausted(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step(
            retry_policy=lib.retry_policy(wait=lib.wait_fixed(0), stop=lib.stop_after_attempt(3))
        )
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("v")

        @lib.catch_error
        async def recover(self, ctx: lib.Context, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(
                result=(ev.attempts, ev.step_name, ev.elapsed_seconds >= 0, ev.failed_at.tzinfo)
            )

    attempts, step_name, positive, tz = await W().run()
    assert (attempts, step_name, positive, tz is not None) == (3, "s", True, True)


@both()
async def test_a_failing_catch_error_handler_fails_the_run(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("step")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            raise KeyError("handler")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(KeyError, match="handler"):
        await handler
    assert [(type(e).__name__, e.step_name) for e in events] == [("WorkflowFailedEvent", "recover")]


@both()
async def test_a_failing_fan_out_member_fails_the_run(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return [Item(n=n) for n in range(3)]

        @lib.step
        async def work(self, ev: Item) -> Item | None:
            if ev.n == 1:
                raise KeyError("one")
            return None

        @lib.step
        async def gather(self, items: list[Item]) -> lib.StopEvent:
            return lib.StopEvent(result=len(items))

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(KeyError):
        await handler
    assert [(type(e).__name__, e.step_name) for e in events] == [("WorkflowFailedEvent", "work")]


@both()
async def test_failed_event_dump(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("bad")

    handler = W().run()
    events = await drain(handler)
    with pytest.raises(ValueError):
        await handler
    dump = events[-1].model_dump(mode="json")
    assert dump.pop("elapsed_seconds") >= 0
    assert dump == {
        "step_name": "s",
        "exception": {"exception_type": "builtins.ValueError", "exception_message": "bad"},
        "attempts": 1,
    }
    assert type(events[-1].exception) is ValueError


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
async def test_context_calls_that_need_a_step(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result=1)

    wf = W()
    ctx = lib.Context(wf)
    calls: list[Callable[[Any], Any]] = [
        lambda c: c.write_event_to_stream(lib.Event()),
        lambda c: c.collect_events(lib.Event(), [lib.Event]),
        lambda c: c.retry_info(),
    ]
    for call in calls:
        with pytest.raises(lib.ContextStateError):
            call(ctx)
    handler = wf.run(ctx=ctx)
    assert await handler == 1
    for call in calls[:2]:
        with pytest.raises(lib.ContextStateError):
            call(handler.ctx)
    with pytest.raises(lib.ContextStateError):
        await handler.ctx.wait_for_event(lib.Event)
    assert handler.ctx.is_running is False
    assert await handler.ctx.running_steps() == []


@both()
async def test_workflow_test_runner(lib: Lib) -> None:
    runner_class = (
        workflows.testing.WorkflowTestRunner
        if lib is ANCHOR
        else stepwork.testing.WorkflowTestRunner
    )

    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> A:
            ctx.write_event_to_stream(lib.Event(m=1))
            return A()

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent(result="r")

    full = await runner_class(W()).run()
    assert full.result == "r"
    assert names(full.collected) == [
        "StepStateChanged",
        "Event",
        "StepStateChanged",
        "StepStateChanged",
        "StepStateChanged",
        "StopEvent",
    ]
    assert {k.__name__: v for k, v in full.event_types.items()} == {
        "StepStateChanged": 4,
        "Event": 1,
        "StopEvent": 1,
    }
    public = await runner_class(W()).run(expose_internal=False)
    assert names(public.collected) == ["Event", "StopEvent"]
    excluded = await runner_class(W()).run(exclude_events=[lib.StepStateChanged])
    assert names(excluded.collected) == ["Event", "StopEvent"]
    assert isinstance(full.ctx, lib.Context)


@both()
async def test_wrong_start_event_type_is_a_value_error(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent()

    with pytest.raises(ValueError, match="StartEvent"):
        W().run(start_event=lib.Event(a=1))


# -- the same outputs, compared side by side --------------------------------------------------


def _policy_table(lib: Lib) -> dict[str, list[float | None]]:
    policies = {
        "default": lib.retry_policy(),
        "exponential": lib.retry_policy(
            wait=lib.wait_exponential(multiplier=1, min=0, max=10), stop=lib.stop_after_attempt(8)
        ),
        "incrementing": lib.retry_policy(
            wait=lib.wait_incrementing(start=1, increment=2, max=6), stop=lib.stop_after_attempt(6)
        ),
        "chain": lib.retry_policy(
            wait=lib.wait_chain(lib.wait_fixed(1), lib.wait_fixed(2)),
            stop=lib.stop_after_attempt(5),
        ),
        "after_delay": lib.retry_policy(wait=lib.wait_fixed(1), stop=lib.stop_after_delay(3)),
        "before_delay": lib.retry_policy(wait=lib.wait_fixed(1), stop=lib.stop_before_delay(3)),
        "combine": lib.retry_policy(
            wait=lib.wait_combine(lib.wait_fixed(1), lib.wait_fixed(0.5)),
            stop=lib.stop_any(lib.stop_after_attempt(3), lib.stop_after_delay(100)),
        ),
        "message": lib.retry_policy(
            retry=lib.retry_if_exception_message(match="x"),
            wait=lib.wait_none(),
            stop=lib.stop_never(),
        ),
        "never": lib.retry_policy(retry=lib.retry_never(), stop=lib.stop_after_attempt(3)),
        "not_type": lib.retry_policy(retry=lib.retry_if_not_exception_type(KeyError)),
        "unless": lib.retry_policy(retry=lib.retry_unless_exception_type(ValueError)),
    }
    return {
        key: [
            policy.next(elapsed, attempts, error)
            for attempts in range(1, 8)
            for elapsed in (0.0, 2.5, 4.0)
            for error in (ValueError("x"), KeyError("y"))
        ]
        for key, policy in policies.items()
    }


def test_retry_policies_compute_the_same_delays() -> None:
    assert _policy_table(STEPWORK) == _policy_table(ANCHOR)


def _event_table(lib: Lib) -> dict[str, Any]:
    class E(lib.Event):
        a: int

    class Outer(lib.Event):
        inner: E
        things: list[E] = Field(default_factory=list)

    def attempt(make: Callable[[], Any]) -> Any:
        try:
            return make()
        except Exception as error:
            return ("raised", type(error).__name__, str(error))

    cases: dict[str, Callable[[], Any]] = {
        "equality": lambda: (E(a=1, b=2) == E(a=1, b=2), E(a=1, b=2) == E(a=1, b=3)),
        "model_copy": lambda: E(a=1, b=2).model_copy().model_dump(),
        "deepcopy": lambda: copy.deepcopy(E(a=1, b=[1])).model_dump(),
        "model_validate": lambda: E.model_validate({"a": 1, "b": 2}).model_dump(),
        "model_dump_json": lambda: E(a=1, b=2).model_dump_json(),
        "nested": lambda: Outer(inner=E(a=1, z=3), things=[E(a=2)]).model_dump(mode="json"),
        "repr": lambda: repr(E(a=1, b=2)),
        "str": lambda: str(E(a=1, b=2)),
        "stop_repr": lambda: repr(lib.StopEvent(result=5)),
        "stop_str_none": lambda: str(lib.StopEvent()),
        "stop_dynamic_attr": lambda: lib.StopEvent(result=1, x=2).x,
        "stop_event_result_dump": lambda: lib.StopEvent(result=E(a=1)).model_dump(mode="json"),
        "schema": lambda: sorted(E.model_json_schema()["properties"]),
        "start_dump": lambda: lib.StartEvent(x=1).model_dump(),
        "input_required_dump": lambda: lib.InputRequiredEvent(prefix="p").model_dump(),
        "human_response_dump": lambda: lib.HumanResponseEvent(response="r").model_dump(),
        "dict_of_event": lambda: dict(E(a=1, b=2, c=3)),
        "delete_item": lambda: E(a=1, b=2).__delitem__("b"),
        "pickle": lambda: pickle.loads(pickle.dumps(lib.Event(x=1))).model_dump(),
        "step_failed_fields": lambda: sorted(lib.StepFailedEvent.model_fields),
        "workflow_failed_fields": lambda: sorted(lib.WorkflowFailedEvent.model_fields),
        "unhandled_fields": lambda: sorted(lib.UnhandledEvent.model_fields),
        "timed_out_fields": lambda: sorted(lib.WorkflowTimedOutEvent.model_fields),
    }
    return {key: attempt(make) for key, make in cases.items()}


def test_events_behave_the_same_side_by_side() -> None:
    assert _event_table(STEPWORK) == _event_table(ANCHOR)


# -- deliberate differences: each library's own behaviour, written down ----------------------


def _graph_problem(lib: Lib, kind: str) -> type:
    class B(lib.Event):
        pass

    class C(lib.Event):
        pass

    if kind == "produced_never_consumed":

        class W(lib.Workflow):
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent | B:
                return lib.StopEvent(result="ran")

    elif kind == "consumed_never_produced":

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent(result="ran")

            @lib.step
            async def t(self, ev: B) -> lib.StopEvent:
                return lib.StopEvent()

    elif kind == "accepts_stop":

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
                return lib.StopEvent(result="ran")

            @lib.step
            async def t(self, ev: lib.StopEvent) -> lib.StopEvent:
                return lib.StopEvent()

    else:

        class W(lib.Workflow):  # type: ignore[no-redef]
            @lib.step
            async def s(self, ev: lib.StartEvent) -> lib.StopEvent | B:
                return lib.StopEvent(result="ran")

            @lib.step
            async def t(self, ev: B) -> C:
                return C()

            @lib.step
            async def u(self, ev: C) -> B:
                return B()

    return W


GRAPH_PROBLEMS = {
    "produced_never_consumed": "B",
    "consumed_never_produced": "never produced|no step produces",
    "accepts_stop": "Step 't' cannot accept StopEvent",
    "dead_end": r"\[dead_end\]",
}


@pytest.mark.parametrize("kind", sorted(GRAPH_PROBLEMS))
@both()
async def test_difference_graph_problems_fail_at_construction_in_stepwork(
    lib: Lib, kind: str
) -> None:
    """Anchor: ``W()`` works and ``run()`` raises. stepwork: ``W()`` raises, listing all."""
    workflow_class = _graph_problem(lib, kind)
    if lib is ANCHOR:
        wf = workflow_class()
        with pytest.raises(lib.WorkflowValidationError, match=GRAPH_PROBLEMS[kind]):
            wf.run()
    else:
        with pytest.raises(lib.WorkflowValidationError, match=GRAPH_PROBLEMS[kind]):
            workflow_class()
    assert await workflow_class(disable_validation=True).run() == "ran"


@both()
async def test_difference_wait_for_event_does_not_rerun_the_step_in_stepwork(lib: Lib) -> None:
    """Anchor: code before ``wait_for_event`` runs twice. stepwork: once (step suspended)."""

    class Reply(lib.HumanResponseEvent):
        text: str

    before: list[int] = []

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            before.append(1)
            reply = await ctx.wait_for_event(Reply, waiter_event=lib.InputRequiredEvent())
            return lib.StopEvent(result=reply.text)

    handler = W(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, lib.InputRequiredEvent):
            # Anchor: the step has left; stepwork: it is suspended, so it still runs.
            assert await handler.ctx.running_steps() == ([] if lib is ANCHOR else ["s"])
            await handler.send_event(Reply(text="ok"))
    assert await handler == "ok"
    assert len(before) == (2 if lib is ANCHOR else 1)


@both()
async def test_difference_a_run_that_can_never_finish(lib: Lib) -> None:
    """Anchor: hangs until the run timeout. stepwork: fails at once with WorkflowStalledError."""

    class A(lib.Event):
        pass

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> A | None:
            return None

        @lib.step
        async def t(self, ev: A) -> lib.StopEvent:
            return lib.StopEvent()

    handler = W(timeout=0.2).run()
    events = await drain(handler)
    if lib is ANCHOR:
        with pytest.raises(lib.WorkflowTimeoutError, match="No steps active"):
            await handler
        assert names(events) == ["WorkflowTimedOutEvent"]
    else:
        with pytest.raises(lib.WorkflowStalledError, match="can never finish") as info:
            await handler
        assert "step 's' returned None" in str(info.value)
        assert isinstance(info.value, lib.WorkflowRuntimeError)
        assert names(events) == ["WorkflowFailedEvent"] and events[0].step_name == "s"


@both()
async def test_difference_get_stop_event_after_a_failure_or_timeout(lib: Lib) -> None:
    """Anchor: ``None`` unless the run completed or was cancelled. stepwork: always the end."""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            if ev.mode == "fail":
                raise ValueError("x")
            if ev.mode == "hang":
                await asyncio.Event().wait()
            return lib.StopEvent(result=1)

    seen = {}
    for mode, timeout in (("ok", None), ("fail", None), ("hang", 0.1)):
        handler = W(timeout=timeout).run(mode=mode)
        await outcome(handler)
        seen[mode] = type(handler.get_stop_event()).__name__
    if lib is ANCHOR:
        assert seen == {"ok": "StopEvent", "fail": "NoneType", "hang": "NoneType"}
    else:
        assert seen == {
            "ok": "StopEvent",
            "fail": "WorkflowFailedEvent",
            "hang": "WorkflowTimedOutEvent",
        }


@both()
async def test_difference_start_event_plus_keyword_arguments(lib: Lib) -> None:
    """Anchor: the keyword arguments are ignored (logged). stepwork: StartEventError."""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result=dict(ev.items()))

    if lib is ANCHOR:
        assert await W().run(start_event=lib.StartEvent(a=1), b=2) == {"a": 1}
    else:
        with pytest.raises(lib.StartEventError, match="not both") as info:
            W().run(start_event=lib.StartEvent(a=1), b=2)
        assert isinstance(info.value, lib.WorkflowRuntimeError)
        assert isinstance(info.value, ValueError)


# -- finer points of compatibility -----------------------------------------------------------


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


@both()
async def test_changes_to_the_get_state_copy_differ_on_purpose(lib: Lib) -> None:
    """stepwork's copy never leaks into the store (docs/porting.md)."""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            state = await ctx.store.get_state()
            state["item"] = 1
            state.attr = 2
            return lib.StopEvent(
                result=(
                    await ctx.store.get("item", default=None),
                    await ctx.store.get("attr", default=None),
                )
            )

    assert await W().run() == ((1, 2) if lib.name == "anchor" else (None, None))


@both()
async def test_an_int_timeout_is_reported_as_a_float(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def hang(self, ev: lib.StartEvent) -> lib.StopEvent:
            await asyncio.Event().wait()
            return lib.StopEvent()

    handler = W(timeout=1).run()
    with pytest.raises(lib.WorkflowTimeoutError, match=r"after 1\.0 seconds"):
        await handler


@both()
async def test_a_failing_empty_collector_is_recovered(lib: Lib) -> None:
    class Item(lib.Event):
        n: int

    class W(lib.Workflow):
        @lib.step
        async def fan(self, ev: lib.StartEvent) -> list[Item]:
            return []

        @lib.step
        async def gather(self, items: list[Item]) -> lib.StopEvent:
            raise ValueError("empty")

        @lib.catch_error
        async def recover(self, ev: lib.StepFailedEvent) -> lib.StopEvent:
            return lib.StopEvent(result=(ev.step_name, str(ev.exception)))

    assert await outcome(W(timeout=0.3).run()) == ("ok", ("gather", "empty"))
