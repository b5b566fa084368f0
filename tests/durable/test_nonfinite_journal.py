"""A journaled run refuses NaN and infinities wherever they would enter its journal.

JSON has no NaN or Infinity; pydantic's JSON dump writes ``null`` for them, which the run could
not load back. So a start event, a sent event, a step's returned or streamed event and a
``ctx.store`` write holding one are refused with ``StateSerializationError`` naming the field
(a step's fails the step, naming it). A run without a store keeps NaN in memory, as the anchor
does. Every test runs on SQLite and on a real PostgreSQL server.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import BaseModel

from stepwork import (
    Context,
    Event,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from stepwork._stores.url import store_from_url
from stepwork.errors import StateSerializationError
from stepwork.stores import Store

NAN, INF = float("nan"), float("inf")


class Begin(StartEvent):
    x: float = 0.0


class Reading(Event):
    value: float


class Pair(BaseModel):
    low: float
    high: float


class Carries(Event):
    pair: Pair


class Passes(Workflow):
    @step
    async def start(self, ev: Begin) -> StopEvent:
        return StopEvent(result=ev.x)


@pytest.fixture
async def store(store_url: str) -> Any:
    opened = store_from_url(store_url)
    await opened.open()
    yield opened
    await opened.close()


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"x": NAN}, r"'Begin\.x'"),
        ({"x": INF}, r"'Begin\.x'"),
        ({"x": "-Infinity"}, r"'Begin\.x'"),
        ({"x": "nan"}, r"'Begin\.x'"),
        ({"x": 1e999}, r"'Begin\.x'"),
        ({"extra": [1.0, -INF]}, r"'Begin\.extra\.1'"),
        ({"extra": {"a": {"b": (NAN,)}}}, r"'Begin\.extra\.a\.b\.0'"),
    ],
)
async def test_a_non_finite_start_event_is_refused_and_nothing_is_stored(
    store: Store, fields: dict[str, Any], where: str
) -> None:
    workflow = Passes(store=store, timeout=10)
    with pytest.raises(StateSerializationError, match=where) as raised:
        workflow.run(run_id="bad", start_event=Begin(**fields))
    assert "finite" in str(raised.value)
    assert await store.list_runs() == []
    assert await workflow.run(run_id="good", start_event=Begin(x=1.5)) == 1.5


async def test_a_step_returning_a_non_finite_field_fails_naming_the_step_and_field(
    store: Store,
) -> None:
    class Emits(Workflow):
        @step
        async def measure(self, ev: StartEvent) -> Reading:
            return Reading(value=NAN)

        @step
        async def finish(self, ev: Reading) -> StopEvent:
            return StopEvent(result=ev.value)

    with pytest.raises(StateSerializationError, match=r"'measure'.*'Reading\.value'") as raised:
        await Emits(store=store, timeout=10).run(run_id="r")
    assert raised.value.step_name == "measure"
    record = await store.get_run("r")
    assert record.status == "failed" and record.error is not None
    assert record.error["step"] == "measure" and "Reading.value" in record.error["message"]
    assert [record["kind"] for record in await store.load_ticks("r")][-1] == "step_failed"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Carries(pair=Pair(low=0.0, high=INF)),
        lambda: Event(readings=[1.0, NAN]),
        lambda: StopEvent(result={"mean": -INF}),
    ],
)
async def test_nested_non_finite_numbers_in_returned_or_streamed_events_fail_the_step(
    store: Store, make: Any
) -> None:
    class Streams(Workflow):
        @step
        async def only(self, ctx: Context, ev: StartEvent) -> StopEvent:
            event = make()
            if isinstance(event, StopEvent):
                return event
            ctx.write_event_to_stream(event)
            return StopEvent(result="unreachable")

    with pytest.raises(
        StateSerializationError,
        match=r"'(Carries\.pair\.high|Event\.readings\.1|StopEvent\.result\.mean)'",
    ):
        await Streams(store=store, timeout=10).run(run_id="r")
    record = await store.get_run("r")
    assert record.status == "failed" and record.error is not None
    assert record.error["step"] == "only"


async def test_a_non_finite_store_write_is_refused_naming_the_key(store: Store) -> None:
    seen: list[str] = []

    class Writes(Workflow):
        @step
        async def only(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("fine", 1.5)
            for key, value in (("a", NAN), ("b.c", [INF]), ("d", {"e": -INF})):
                try:
                    await ctx.store.set(key, value)
                except StateSerializationError as error:
                    seen.append(str(error))
            return StopEvent(result=await ctx.store.get("", default=None))

    handler = Writes(store=store, timeout=10).run(run_id="r")
    await handler
    assert [m.split("'")[1] for m in seen] == ["a", "b.c.0", "d.e"]
    assert all("finite" in message for message in seen)
    state = await handler.ctx.store.get_state()
    assert state.to_dict() == {"fine": 1.5}


async def test_sending_a_non_finite_event_into_a_run_is_refused(store: Store) -> None:
    class Waits(Workflow):
        @step
        async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
            reading = await ctx.wait_for_event(Reading, waiter_event=InputRequiredEvent())
            return StopEvent(result=reading.value)

    handler = Waits(store=store, timeout=10).run(run_id="r")
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    with pytest.raises(StateSerializationError, match=r"Reading\.value"):
        await handler.send_event(Reading(value=INF))
    await handler.send_event(Reading(value=2.5))
    assert await handler == 2.5


async def test_a_run_without_a_store_keeps_nan_in_memory_like_the_anchor() -> None:
    class Writes(Workflow):
        @step
        async def only(self, ctx: Context, ev: Begin) -> StopEvent:
            await ctx.store.set("k", NAN)
            return StopEvent(result=[ev.x, await ctx.store.get("k")])

    result = await Writes(timeout=10).run(start_event=Begin(x=INF))
    assert result[0] == INF and math.isnan(result[1])


class Ratios(BaseModel):
    ratio: float = 1.0
    history: list[float] = []


async def test_a_typed_state_refuses_non_finite_fields_and_stays_as_it_was(store: Store) -> None:
    seen: list[str] = []

    class Typed(Workflow):
        @step
        async def only(self, ctx: Context[Ratios], ev: StartEvent) -> StopEvent:
            try:
                async with ctx.store.edit_state() as state:
                    state.ratio = INF
            except StateSerializationError as error:
                seen.append(str(error))
            try:
                await ctx.store.set_state(Ratios(history=[0.5, NAN]))
            except StateSerializationError as error:
                seen.append(str(error))
            await ctx.store.set("ratio", 2.0)
            return StopEvent(result=(await ctx.store.get_state()).model_dump())

    assert await Typed(store=store, timeout=10).run(run_id="r") == {"ratio": 2.0, "history": []}
    assert ["'ratio'" in seen[0], "'history.1'" in seen[1]] == [True, True]
