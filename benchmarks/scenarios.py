"""Benchmark scenarios, each written once against the public API both engines share.

A scenario is ``async def scenario(lib, n) -> Sample``: it builds its workflow from the
``lib`` namespace (stepwork or llama-index-workflows), runs it and reports how long the
measured part took and how many items it covered.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any


@dataclass
class Sample:
    """One measurement: ``seconds`` for ``items`` items, and peak bytes per item if measured."""

    seconds: float
    items: int
    peak_bytes_per_item: float | None = None


def load(engine: str) -> SimpleNamespace:
    """The shared API of ``engine`` ("stepwork" or "anchor")."""
    if engine == "stepwork":
        import stepwork as lib

        return SimpleNamespace(
            Workflow=lib.Workflow,
            step=lib.step,
            Context=lib.Context,
            Event=lib.Event,
            StartEvent=lib.StartEvent,
            StopEvent=lib.StopEvent,
        )
    import workflows
    import workflows.events as events

    return SimpleNamespace(
        Workflow=workflows.Workflow,
        step=workflows.step,
        Context=workflows.Context,
        Event=events.Event,
        StartEvent=events.StartEvent,
        StopEvent=events.StopEvent,
    )


async def chain(lib: Any, n: int) -> Sample:
    """One step re-emitting an event to itself ``n`` times."""

    class Tick(lib.Event):
        n: int

    class Chain(lib.Workflow):
        @lib.step
        async def begin(self, ev: lib.StartEvent) -> Tick:
            return Tick(n=0)

        @lib.step
        async def loop(self, ev: Tick) -> Tick | lib.StopEvent:
            if ev.n >= n:
                return lib.StopEvent(result=ev.n)
            return Tick(n=ev.n + 1)

    workflow = Chain(timeout=None)
    started = time.perf_counter()
    assert await workflow.run() == n
    return Sample(time.perf_counter() - started, n)


def _linear_class(lib: Any, steps: int) -> Any:
    events = [type(f"E{i}", (lib.Event,), {"__annotations__": {"i": int}}) for i in range(steps)]
    namespace: dict[str, Any] = {}

    def make(index: int) -> Any:
        source = lib.StartEvent if index == 0 else events[index - 1]
        target = lib.StopEvent if index == steps - 1 else events[index]

        async def body(self: Any, ev: Any) -> Any:
            if target is lib.StopEvent:
                return lib.StopEvent(result=index)
            return target(i=index)

        body.__name__ = f"s{index}"
        body.__qualname__ = f"Linear.s{index}"
        body.__annotations__ = {"ev": source, "return": target}
        return lib.step(body)

    for index in range(steps):
        namespace[f"s{index}"] = make(index)
    return type("Linear", (lib.Workflow,), namespace)


async def linear(lib: Any, n: int) -> Sample:
    """A 20-step linear workflow run ``n`` times one after another."""
    workflow = _linear_class(lib, 20)(timeout=None)
    started = time.perf_counter()
    for _ in range(n):
        assert await workflow.run() == 19
    return Sample(time.perf_counter() - started, n)


async def _journaled(lib: Any, n: int, store: Any) -> Sample:
    workflow = _linear_class(lib, 20)(timeout=None, store=store)
    started = time.perf_counter()
    for index in range(n):
        assert await workflow.run(run_id=f"run-{index}-{time.time_ns()}") == 19
    elapsed = time.perf_counter() - started
    await store.close()
    return Sample(elapsed, n)


async def linear_journaled(lib: Any, n: int) -> Sample:
    """The 20-step linear workflow run ``n`` times, journaled to a SQLite file (stepwork only)."""
    import tempfile
    from pathlib import Path

    from stepwork.stores import SqliteStore

    with tempfile.TemporaryDirectory() as folder:
        return await _journaled(lib, n, SqliteStore(Path(folder) / "runs.db"))


async def linear_journaled_pg(lib: Any, n: int) -> Sample:
    """The same, journaled to the PostgreSQL server named by ``STEPWORK_BENCH_PG_DSN``."""
    import os

    from stepwork.stores import PostgresStore

    return await _journaled(lib, n, PostgresStore(os.environ["STEPWORK_BENCH_PG_DSN"]))


async def _durable3(n: int, store: Any, at_once: int) -> Sample:
    """``n`` durable 3-step runs, ``at_once`` at a time, journaled to ``store``."""
    import asyncio

    from stepwork import Workflow

    workflow: Workflow = _linear_class(_stepwork(), 3)(timeout=None, store=store)
    stamp = time.time_ns()
    started = time.perf_counter()
    for first in range(0, n, at_once):
        handlers = [
            workflow.run(run_id=f"run-{index}-{stamp}")
            for index in range(first, min(n, first + at_once))
        ]
        assert await asyncio.gather(*handlers) == [2] * len(handlers)
    elapsed = time.perf_counter() - started
    await store.close()
    return Sample(elapsed, n)


def _stepwork() -> Any:
    import stepwork

    return stepwork


async def durable3_sqlite(lib: Any, n: int) -> Sample:
    """``n`` durable 3-step runs one at a time on a SQLite file (stepwork only)."""
    import tempfile
    from pathlib import Path

    from stepwork.stores import SqliteStore

    with tempfile.TemporaryDirectory() as folder:
        return await _durable3(n, SqliteStore(Path(folder) / "runs.db"), 1)


async def durable3_sqlite_20(lib: Any, n: int) -> Sample:
    """The same, 20 runs at once."""
    import tempfile
    from pathlib import Path

    from stepwork.stores import SqliteStore

    with tempfile.TemporaryDirectory() as folder:
        return await _durable3(n, SqliteStore(Path(folder) / "runs.db"), 20)


async def durable3_pg(lib: Any, n: int) -> Sample:
    """``n`` durable 3-step runs one at a time on ``STEPWORK_BENCH_PG_DSN`` (stepwork only)."""
    import os

    from stepwork.stores import PostgresStore

    return await _durable3(n, PostgresStore(os.environ["STEPWORK_BENCH_PG_DSN"]), 1)


async def durable3_pg_20(lib: Any, n: int) -> Sample:
    """The same, 20 runs at once."""
    import os

    from stepwork.stores import PostgresStore

    return await _durable3(n, PostgresStore(os.environ["STEPWORK_BENCH_PG_DSN"]), 20)


async def fan_in(lib: Any, n: int) -> Sample:
    """``n`` events sent with ``send_event`` to a step with 8 workers, gathered with
    ``collect_events``."""

    class Item(lib.Event):
        i: int

    class Result(lib.Event):
        i: int

    expected = [Result] * n

    class FanIn(lib.Workflow):
        @lib.step
        async def fan(self, ctx: lib.Context, ev: lib.StartEvent) -> Item | None:
            for i in range(n):
                ctx.send_event(Item(i=i))
            return None

        @lib.step(num_workers=8)
        async def work(self, ev: Item) -> Result:
            return Result(i=ev.i)

        @lib.step
        async def gather(self, ctx: lib.Context, ev: Result) -> lib.StopEvent | None:
            got = ctx.collect_events(ev, expected)
            if got is None:
                return None
            return lib.StopEvent(result=len(got))

    workflow = FanIn(timeout=None)
    started = time.perf_counter()
    assert await workflow.run() == n
    return Sample(time.perf_counter() - started, n)


def _three_steps(lib: Any) -> Any:
    class A(lib.Event):
        x: int

    class B(lib.Event):
        x: int

    class Three(lib.Workflow):
        @lib.step
        async def one(self, ev: lib.StartEvent) -> A:
            return A(x=1)

        @lib.step
        async def two(self, ev: A) -> B:
            return B(x=ev.x + 1)

        @lib.step
        async def three(self, ev: B) -> lib.StopEvent:
            return lib.StopEvent(result=ev.x + 1)

    return Three


async def concurrent(lib: Any, n: int) -> Sample:
    """``n`` runs of a 3-step workflow started together with ``asyncio.gather``."""
    workflow = _three_steps(lib)(timeout=None)
    started = time.perf_counter()
    results = await asyncio.gather(*(workflow.run() for _ in range(n)))
    elapsed = time.perf_counter() - started
    assert results == [3] * n
    return Sample(elapsed, n)


async def concurrent_memory(lib: Any, n: int) -> Sample:
    """Peak traced memory per run while ``n`` 3-step runs are in flight together."""
    workflow = _three_steps(lib)(timeout=None)
    await workflow.run()  # warm caches so they are not counted per run
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    results = await asyncio.gather(*(workflow.run() for _ in range(n)))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert results == [3] * n
    return Sample(elapsed, n, peak / n)


async def streaming(lib: Any, n: int) -> Sample:
    """One step writing ``n`` events to the stream, read with ``stream_events()``."""

    class Chunk(lib.Event):
        i: int

    class Stream(lib.Workflow):
        @lib.step
        async def emit(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            for i in range(n):
                ctx.write_event_to_stream(Chunk(i=i))
            return lib.StopEvent(result=n)

    workflow = Stream(timeout=None)
    started = time.perf_counter()
    handler = workflow.run()
    count = 0
    async for event in handler.stream_events():
        if isinstance(event, Chunk):
            count += 1
    assert await handler == n and count == n
    return Sample(time.perf_counter() - started, n)


async def floor(lib: Any, n: int) -> Sample:
    """The asyncio floor: a bare ``asyncio.Queue`` ping-pong between two coroutines."""
    ping: asyncio.Queue[int] = asyncio.Queue()
    pong: asyncio.Queue[int] = asyncio.Queue()

    async def peer() -> None:
        for _ in range(n):
            await pong.put(await ping.get())

    task = asyncio.create_task(peer())
    started = time.perf_counter()
    for i in range(n):
        await ping.put(i)
        await pong.get()
    elapsed = time.perf_counter() - started
    await task
    return Sample(elapsed, n)


SCENARIOS = {
    "chain": chain,
    "linear": linear,
    "linear_journaled": linear_journaled,
    "linear_journaled_pg": linear_journaled_pg,
    "durable3_sqlite": durable3_sqlite,
    "durable3_sqlite_20": durable3_sqlite_20,
    "durable3_pg": durable3_pg,
    "durable3_pg_20": durable3_pg_20,
    "fan_in": fan_in,
    "concurrent": concurrent,
    "concurrent_memory": concurrent_memory,
    "streaming": streaming,
    "floor": floor,
}
