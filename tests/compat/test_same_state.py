"""The context: its state store (paths, defaults, typed models, errors), ``send_event`` and
the calls that are only allowed inside a step.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from both_libs import Lib, both
from pydantic import BaseModel


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
