"""Snapshots and state values: the same programs on the anchor and on stepwork.

Each scenario imports its names from ``lib`` (the anchor's ``workflows`` modules or stepwork's
twins of the same paths), so a test passing for both ids shows a program ported by changing
its imports behaves the same: what ``Context.to_dict()["state"]`` holds, resuming a cancelled
run from its snapshot, state values JSON cannot hold, ``get_result()`` and the
instrumentation tags steps see.
"""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from typing import Any

import pytest
from compat_libraries import library
from pydantic import BaseModel

both = pytest.mark.parametrize(
    "lib",
    [
        pytest.param(library("workflows"), id="anchor"),
        pytest.param(library("stepwork"), id="stepwork"),
    ],
)
Lib = Any


class Profile(BaseModel):
    name: str = "Jane"
    age: int = 25


@both
async def test_typed_state_snapshot_is_one_pydantic_string(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context[Profile], ev: lib.StartEvent) -> lib.StopEvent:
            await ctx.store.set("name", "John")
            state = await ctx.store.get_state()
            state.age += 1
            await ctx.store.set_state(state)
            return lib.StopEvent()

    handler = W().run()
    await handler
    data = json.loads(handler.ctx.to_dict()["state"]["state_data"])
    assert data["__is_pydantic"] is True
    assert data["value"] == {"name": "John", "age": 26}
    assert data["qualified_name"].endswith("Profile")


@both
async def test_dict_state_snapshot_holds_one_json_string_per_key(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def count(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            await ctx.store.set("count", await ctx.store.get("count", default=0) + 1)
            await ctx.store.set("tags", ["a", "b"])
            return lib.StopEvent(result=await ctx.store.get("count"))

    wf = W()
    first = wf.run()
    await first
    restored = lib.Context.from_dict(wf, first.ctx.to_dict())
    assert await wf.run(ctx=restored) == 2
    state = restored.to_dict()["state"]
    assert (state["store_type"], state["state_type"]) == ("in_memory", "DictState")
    assert {k: json.loads(v) for k, v in state["state_data"]["_data"].items()} == {
        "count": 2,
        "tags": ["a", "b"],
    }


@both
async def test_a_cancelled_run_resumes_from_its_snapshot_without_a_start_event(lib: Lib) -> None:
    class Topic(lib.StartEvent):
        topic: str

    class W(lib.Workflow):
        @lib.step
        async def ask(self, ctx: lib.Context, ev: Topic) -> lib.InputRequiredEvent:
            await ctx.store.set("asked", await ctx.store.get("asked", default=0) + 1)
            return lib.InputRequiredEvent(prefix=ev.topic)

        @lib.step
        async def answer(self, ctx: lib.Context, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=(ev.response, await ctx.store.get("asked")))

    wf = W()
    handler = wf.run(topic="pizza")
    async for event in handler.stream_events():
        if isinstance(event, lib.InputRequiredEvent):
            break
    await handler.cancel_run()
    snapshot = handler.ctx.to_dict()
    assert snapshot["is_running"] is True
    resumed = wf.run(ctx=lib.Context.from_dict(wf, json.loads(json.dumps(snapshot))))
    resumed.ctx.send_event(lib.HumanResponseEvent(response="42"))
    assert await resumed == ("42", 1)


class _Client:
    """Stands for an SDK client: holds a lock, so neither JSON nor pickle can hold it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


@both
async def test_a_wait_whose_requirements_hold_a_live_object_resumes_from_a_snapshot(
    lib: Lib,
) -> None:
    Unlock = UNLOCK[lib.name]

    class W(lib.Workflow):
        @lib.step
        async def wait(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            got = await ctx.wait_for_event(
                Unlock,
                waiter_event=lib.InputRequiredEvent(),
                waiter_id="door",
                requirements={"key": _Key()},
                timeout=10,
            )
            return lib.StopEvent(result=type(got.key).__name__)

    wf = W()
    handler = wf.run()
    async for event in handler.stream_events():
        if isinstance(event, lib.InputRequiredEvent):
            snapshot = handler.ctx.to_dict(serializer=lib.PickleSerializer())
            await handler.cancel_run()
            break
    restored = lib.Context.from_dict(wf, snapshot, serializer=lib.PickleSerializer())
    resumed = wf.run(ctx=restored)
    resumed.ctx.send_event(Unlock(key=_Key(live=False)))
    assert await asyncio.wait_for(resumed, 10) == "_Key"


class _AnchorUnlock(library("workflows").Event):
    key: Any


class _StepworkUnlock(library("stepwork").Event):
    key: Any


# Events a snapshot names must be importable by name: defined here, not inside a test.
UNLOCK = {"workflows": _AnchorUnlock, "stepwork": _StepworkUnlock}


class _Key:
    """A wait requirement that holds a lock unless told not to; equal to any other key."""

    def __init__(self, live: bool = True) -> None:
        self.lock = threading.Lock() if live else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key)

    __hash__ = None  # type: ignore[assignment]


@both
async def test_a_run_without_a_store_keeps_live_objects_until_a_snapshot(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            await ctx.store.set("client", _Client())
            await ctx.store.set("n", 1)
            return lib.StopEvent(result=type(await ctx.store.get("client")).__name__)

    handler = W().run()
    assert await handler == "_Client"
    with pytest.raises(ValueError, match="key client"):
        handler.ctx.to_dict()
    with pytest.raises(ValueError, match="key client"):
        handler.ctx.to_dict(serializer=lib.PickleSerializer())


@both
async def test_the_memory_key_is_left_out_of_a_snapshot_with_a_warning(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            await ctx.store.set("memory", _Client())
            await ctx.store.set("n", 1)
            return lib.StopEvent()

    handler = W().run()
    await handler
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = handler.ctx.to_dict()["state"]
    assert list(state["state_data"]["_data"]) == ["n"]
    assert [w.category.__name__ for w in caught] == ["UnserializableKeyWarning"]
    assert "memory" in str(caught[0].message)


@both
async def test_a_standalone_store_accepts_any_value(lib: Lib) -> None:
    store = lib.InMemoryStateStore(lib.DictState())
    client = _Client()
    await store.set("client", client)
    assert await store.get("client") is client
    async with store.edit_state() as state:
        state["n"] = 1
    assert await store.get("n") == 1


@both
async def test_get_result_is_deprecated_but_returns_the_result(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            return lib.StopEvent(result="done")

    handler = W().run()
    await handler
    with pytest.warns(DeprecationWarning):
        assert handler.ctx.get_result() == "done"


@both
async def test_steps_see_the_callers_instrument_tags_and_the_run_id(lib: Lib) -> None:
    from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags

    seen: dict[str, Any] = {}

    class W(lib.Workflow):
        @lib.step
        async def s(self, ev: lib.StartEvent) -> lib.StopEvent:
            seen.update(active_instrument_tags.get())
            return lib.StopEvent()

    with instrument_tags({"tenant": "acme"}):
        handler = W().run()
    await asyncio.wait_for(handler, 10)
    assert seen["tenant"] == "acme"
    assert seen["llamaindex.run_id"] == handler.run_id
    assert seen["llamaindex.step.input_event"] == "StartEvent"
