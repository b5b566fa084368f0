"""LlamaIndex instrumentation side by side: the same program on the anchor and on stepwork gives
the same spans (names, parentage, tags, how each ended) and the same events per span, as seen
by a span handler and an event handler attached to the root dispatcher, as openinference's are.
"""

import asyncio
import inspect
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from both_libs import ANCHOR, STEPWORK, Lib
from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.base import BaseEvent
from llama_index_instrumentation.event_handlers import BaseEventHandler
from llama_index_instrumentation.span import SimpleSpan
from llama_index_instrumentation.span_handlers import BaseSpanHandler

from stepwork._runtime.observe_llama import listening

USER = get_dispatcher("test_same_instrumentation")


class Recorder(BaseSpanHandler[SimpleSpan]):
    """Every span's name (its id without the uuid), parent, tags, instance, arguments, end."""

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan:
        SPANS[id_] = {
            "parent": parent_span_id,
            "tags": tags,
            "instance": type(instance).__name__,
            "args": sorted(bound_args.arguments),
            "end": None,
            "events": [],
        }
        return SimpleSpan(id_=id_, parent_id=parent_span_id, tags=tags or {})

    def prepare_to_exit_span(self, id_: str, bound_args: Any, instance: Any = None,
                             result: Any = None, **kwargs: Any) -> None:  # fmt: skip
        SPANS[id_]["end"] = f"exit {type(result).__name__}"

    def prepare_to_drop_span(self, id_: str, bound_args: Any, instance: Any = None,
                             err: BaseException | None = None, **kwargs: Any) -> None:  # fmt: skip
        SPANS[id_]["end"] = f"drop {type(err).__name__}"


class Events(BaseEventHandler):
    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        SEEN.append(event)


SPANS: dict[str, dict[str, Any]] = {}
SEEN: list[BaseEvent] = []


def forget() -> None:
    SPANS.clear()
    SEEN.clear()


@pytest.fixture
def recorded() -> Iterator[tuple[Recorder, Events]]:
    root = get_dispatcher()
    spans, events = Recorder(), Events()
    forget()
    root.add_span_handler(spans)
    root.add_event_handler(events)
    try:
        yield spans, events
    finally:
        root.span_handlers.remove(spans)
        root.event_handlers.remove(events)


def _name(span_id: str | None) -> str | None:
    return None if span_id is None else span_id[: -len("-00000000-0000-0000-0000-000000000000")]


def _shape() -> Counter[tuple[Any, ...]]:
    """Spans as a multiset (fan-out order differs between engines), with run ids made equal."""
    for event in SEEN:
        SPANS[event.span_id]["events"].append(
            (event.class_name(), type(event).__name__, tuple(sorted(event.tags)))
        )
    shape: Counter[tuple[Any, ...]] = Counter()
    for span_id, span in SPANS.items():
        tags = dict(span["tags"] or {})
        if "llamaindex.run_id" in tags:
            tags["llamaindex.run_id"] = "<run>"
        shape[
            (
                _name(span_id),
                _name(span["parent"]),
                tuple(sorted(tags.items())),
                span["instance"],
                tuple(span["args"]),
                span["end"],
                tuple(span["events"]),
            )
        ] += 1
    return shape


Program = Callable[[Lib], Awaitable[Any]]


async def linear(lib: Lib) -> Any:
    class Middle(lib.Event):
        x: int

    @USER.span
    def helper(x: int) -> int:  # a user's span inside a step (an LLM call, say)
        return x + 1

    class Linear(lib.Workflow):
        @lib.step
        async def first(self, ev: lib.StartEvent) -> Middle:
            return Middle(x=helper(ev.get("x")))

        @lib.step
        async def second(self, ev: Middle) -> lib.StopEvent:
            return lib.StopEvent(result=ev.x)

    return await Linear().run(x=1)


async def fan_out(lib: Lib) -> Any:
    class Item(lib.Event):
        x: int

    class Done(lib.Event):
        x: int

    class Fan(lib.Workflow):
        @lib.step
        async def spread(self, ctx: lib.Context, ev: lib.StartEvent) -> Item | None:
            for x in range(3):
                ctx.send_event(Item(x=x))
            return None

        @lib.step(num_workers=3)
        async def work(self, ev: Item) -> Done:
            return Done(x=ev.x)

        @lib.step
        async def gather(self, ctx: lib.Context, ev: Done) -> lib.StopEvent | None:
            got = ctx.collect_events(ev, [Done] * 3)
            return None if got is None else lib.StopEvent(result=sum(d.x for d in got))

    return await Fan().run()


async def retried(lib: Lib) -> Any:
    calls = []

    class Retry(lib.Workflow):
        @lib.step(retry_policy=lib.ConstantDelayRetryPolicy(delay=0.001, maximum_attempts=3))
        async def flaky(self, ev: lib.StartEvent) -> lib.StopEvent:
            calls.append(1)
            if len(calls) < 3:
                raise ValueError("not yet")
            return lib.StopEvent(result=len(calls))

    return await Retry().run()


async def failing(lib: Lib) -> Any:
    class Fail(lib.Workflow):
        @lib.step
        async def bad(self, ev: lib.StartEvent) -> lib.StopEvent:
            raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        await Fail().run()
    return None


async def human(lib: Lib) -> Any:
    class Ask(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> lib.InputRequiredEvent:
            return lib.InputRequiredEvent(prefix="name?")

        @lib.step
        async def answer(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=ev.response)

    handler = Ask().run()
    async for ev in handler.stream_events():
        if isinstance(ev, lib.InputRequiredEvent):
            handler.ctx.send_event(lib.HumanResponseEvent(response="ada"))
    return await handler


async def waits(lib: Lib) -> Any:
    class Waiter(lib.Workflow):
        @lib.step
        async def ask(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            answer = await ctx.wait_for_event(
                lib.HumanResponseEvent, waiter_event=lib.InputRequiredEvent(prefix="?")
            )
            return lib.StopEvent(result=answer.response)

    handler = Waiter().run()
    async for ev in handler.stream_events():
        if isinstance(ev, lib.InputRequiredEvent):
            handler.ctx.send_event(lib.HumanResponseEvent(response="ada"))
    return await handler


async def cancelled(lib: Lib) -> Any:
    started = asyncio.Event()

    class Slow(lib.Workflow):
        @lib.step
        async def slow(self, ev: lib.StartEvent) -> lib.StopEvent:
            started.set()
            await asyncio.Event().wait()
            return lib.StopEvent()

    handler = Slow().run()
    await started.wait()
    await handler.cancel_run()
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler
    return None


@USER.span
async def inside_a_users_span(program: Program, lib: Lib) -> Any:
    return await program(lib)


PROGRAMS = {
    "linear": linear,
    "fan_out": fan_out,
    "retried": retried,
    "failing": failing,
    "human": human,
    "wait_for_event": waits,
    "cancelled": cancelled,
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("program", list(PROGRAMS))
async def test_the_same_spans_and_events(program: str, recorded: tuple[Recorder, Events]) -> None:
    del recorded  # attached for the test's duration
    shapes, results = {}, {}
    for lib in (ANCHOR, STEPWORK):
        forget()
        results[lib.name] = await inside_a_users_span(PROGRAMS[program], lib)
        shapes[lib.name] = _shape()
        open_spans = [name for name, span in SPANS.items() if span["end"] is None]
        assert not open_spans, f"{lib.name} left spans open"
    assert results["stepwork"] == results["anchor"]
    assert shapes["stepwork"] == shapes["anchor"]
    # Every run hangs off the caller's span and every step off its run.
    parents = {key[0]: key[1] for key in shapes["stepwork"]}
    run = next(name for name in parents if name and name.endswith(".run"))
    assert parents[run] == "inside_a_users_span"
    others = (run, "linear.<locals>.helper", "inside_a_users_span")
    assert all(parent == run for name, parent in parents.items() if name not in others)


async def test_step_tags_and_outputs_are_the_anchors(recorded: tuple[Recorder, Events]) -> None:
    del recorded  # attached for the test's duration
    for lib in (ANCHOR, STEPWORK):
        forget()
        assert await linear(lib) == 2
        run_ids = {s["tags"]["llamaindex.run_id"] for s in SPANS.values() if s["tags"]}
        assert len(run_ids) == 1
        by_name = {_name(i): s for i, s in SPANS.items()}
        assert by_name["linear.<locals>.Linear.second"]["tags"] == {
            "llamaindex.run_id": run_ids.pop(),
            "llamaindex.step.input_event": "Middle",
            "llamaindex.step.input_summary": "Middle(x=2)",
        }
        assert by_name["linear.<locals>.helper"]["parent"].startswith(
            "linear.<locals>.Linear.first-"
        )
        outputs = [getattr(e, "output", None) for e in SEEN]
        assert outputs == ["Middle(x=2)", "StopEvent(result=2)", "StopEvent(result=2)"], lib.name


async def test_nothing_listens_until_a_handler_is_attached() -> None:
    root = get_dispatcher()
    assert not listening()
    handler = Events()
    root.add_event_handler(handler)
    try:
        assert listening()
    finally:
        root.event_handlers.remove(handler)
    assert not listening()
