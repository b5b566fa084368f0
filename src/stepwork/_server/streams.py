"""A run's events as Server-Sent Events or NDJSON, from any offset, for any number of readers.

A run executing in this process is followed in memory (its handler's event log); any other
run is read from the store by offset while it is still going (it may be executing in another
process, or about to be resumed here, in which case the stream switches to memory). Between
reads the stream waits for the store to say the run changed (``follow.StoreFollower``): a
PostgreSQL append NOTIFYs (with a read every ``FALLBACK_POLL`` seconds besides); SQLite is
polled every ``POLL_INTERVAL`` seconds. Offsets are the same in both: the journal stores every
published event at the offset the live log gives it, so a reader that reconnects with
``Last-Event-ID`` (or ``after``) sees each event exactly once, whichever server it reaches.

Invariants: a stream yields events in offset order, each at most once, and never skips one;
it ends after the run's terminal event, or when the server shuts down (the reader reconnects
elsewhere), or with an error frame when the run's journal cannot be read (a missing or
unreadable event, or a run that could not be resumed): ``event: error`` whose data is the
``journal_corrupt`` error body in SSE, that body as a line in NDJSON. Readers should not
reconnect after it. An SSE stream sends a ``: heartbeat`` comment after ``heartbeat`` seconds
without an event.

Example:
    >>> sse_frame({"offset": 4, "type": "Ping", "data": {}})
    b'id: 4\\nevent: Ping\\ndata: {"offset":4,"type":"Ping","data":{}}\\n\\n'
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Literal

from stepwork._core.errors import JournalCorruptError, RunNotFoundError
from stepwork._server import live as live_runs
from stepwork._server.errors import from_corrupt
from stepwork._server.follow import SQLITE_POLL
from stepwork._server.run_reads import LiveRun
from stepwork._server.runs import RunRegistry
from stepwork._server.shapes import dumps, envelope, envelope_from_record
from stepwork._stores.protocol import TERMINAL_STATUSES
from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "HEARTBEAT",
    "POLL_INTERVAL",
    "StreamFormat",
    "error_frame",
    "event_stream",
    "ndjson_line",
    "sse_frame",
]

StreamFormat = Literal["sse", "ndjson"]
"""How events are framed: Server-Sent Events or one JSON object per line."""

POLL_INTERVAL = SQLITE_POLL
"""Seconds between reads of a store that cannot notify (SQLite) for a run not executing here."""

HEARTBEAT = b": heartbeat\n\n"
"""The SSE comment sent on a quiet stream."""

_PAGE = 500


def sse_frame(item: dict[str, Any]) -> bytes:
    """One SSE frame: ``id`` is the offset, ``event`` the type, ``data`` the envelope."""
    return f"id: {item['offset']}\nevent: {item['type']}\ndata: {dumps(item)}\n\n".encode()


def ndjson_line(item: dict[str, Any]) -> bytes:
    """One NDJSON line holding the envelope."""
    return (dumps(item) + "\n").encode()


def error_frame(error: JournalCorruptError, fmt: StreamFormat) -> bytes:
    """The frame that ends a stream whose run cannot be read: ``event: error`` (without an
    ``id``, so it moves no reader's offset) with the ``journal_corrupt`` error body.

    Example:
        >>> from stepwork._core.errors import JournalCorruptError
        >>> frame = error_frame(JournalCorruptError("gone", run_id="r", seq=1), "sse")
        >>> frame.startswith(b'event: error\\ndata: {"error":{"code":"journal_corrupt"')
        True
    """
    body = dumps(from_corrupt(error).body())
    return f"event: error\ndata: {body}\n\n".encode() if fmt == "sse" else f"{body}\n".encode()


def _frame(item: dict[str, Any], fmt: StreamFormat) -> bytes:
    return sse_frame(item) if fmt == "sse" else ndjson_line(item)


async def _from_memory(
    run: LiveRun, start: int, fmt: StreamFormat, internal: bool
) -> AsyncIterator[tuple[int, bytes]]:
    events = run.handler.follow_events(start, expose_internal=internal)
    async with contextlib.aclosing(events):
        async for offset, event in events:
            key = (offset, fmt)
            frame = run.frames.get(key)
            if frame is None:
                frame = run.frames[key] = _frame(envelope(offset, event), fmt)
            yield offset, frame


async def _from_store(
    registry: RunRegistry, run_id: str, after: int, fmt: StreamFormat, internal: bool
) -> AsyncIterator[tuple[int, bytes]]:
    try:
        async for pair in _stored(registry, run_id, after, fmt, internal):
            yield pair
    except JournalCorruptError as error:
        yield -1, error_frame(error, fmt)


async def _stored(
    registry: RunRegistry, run_id: str, after: int, fmt: StreamFormat, internal: bool
) -> AsyncIterator[tuple[int, bytes]]:
    cursor = after
    with registry.follower.watch(run_id) as watch:
        while True:
            watch.clear()  # before reading: an append while we read wakes the next wait
            try:
                record = await registry.store.get_run(run_id)
            except RunNotFoundError:
                record = None  # not written yet (a run queued here); wait for it
            finished = record is not None and record.status in TERMINAL_STATUSES
            entry = registry.reads.served_for(record) if record is not None else None
            types = entry.registry if entry is not None else TypeRegistry.default()
            rows, damage = await _page(registry, run_id, cursor) if record else ([], None)
            for offset, stored in rows:
                cursor = offset
                item = envelope_from_record(offset, stored, types)
                if finished and record is not None and offset == record.events - 1:
                    item["terminal"] = True
                if item["internal"] and not internal:
                    continue
                yield offset, _frame(item, fmt)
                if item["terminal"]:
                    return
            if damage is not None:
                raise damage  # after every event before it
            if len(rows) == _PAGE:
                continue
            if finished:
                return
            run = registry.live.get(run_id)
            if run is not None and await live_runs.wait_started(run.handler):
                async for pair in _from_memory(run, cursor + 1, fmt, internal):
                    yield pair
                return
            broken = registry.reads.corruption(record) if record is not None else None
            if broken is not None and registry.live.get(run_id) is None:
                raise broken  # it cannot be resumed, so nothing more will come
            await watch.changed()  # an append NOTIFYs (PostgreSQL), or the poll interval


async def _page(
    registry: RunRegistry, run_id: str, cursor: int
) -> tuple[list[tuple[int, dict[str, Any]]], JournalCorruptError | None]:
    """The next page of stored events, or the events before a damaged one and its error."""
    try:
        return await registry.store.load_events(run_id, cursor, _PAGE), None
    except JournalCorruptError as error:
        if error.record != "event" or error.seq is None or error.seq <= cursor + 1:
            raise
        return await registry.store.load_events(run_id, cursor, error.seq - cursor - 1), error


async def _source(
    registry: RunRegistry, run_id: str, after: int, fmt: StreamFormat, internal: bool
) -> AsyncIterator[tuple[int, bytes]]:
    run = registry.live.get(run_id)
    if run is not None and await live_runs.wait_started(run.handler):
        async for pair in _from_memory(run, after + 1, fmt, internal):
            yield pair
    else:
        async for pair in _from_store(registry, run_id, after, fmt, internal):
            yield pair


async def event_stream(
    registry: RunRegistry,
    run_id: str,
    *,
    after: int,
    fmt: StreamFormat,
    internal: bool,
    heartbeat: float,
) -> AsyncIterator[bytes]:
    """The frames of run ``run_id`` after offset ``after``, with heartbeats (SSE only).

    Ends after the terminal event, or when the server shuts down.
    """
    source = _source(registry, run_id, after, fmt, internal)
    loop = asyncio.get_running_loop()
    stop = loop.create_task(registry.stopping())
    pending: asyncio.Task[tuple[int, bytes]] | None = None
    try:
        while True:
            if pending is None:
                pending = loop.create_task(anext(source))  # type: ignore[arg-type]
            done, _ = await asyncio.wait(
                [pending, stop], timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
            )
            if pending in done:
                task, pending = pending, None
                try:
                    _, frame = task.result()
                except StopAsyncIteration:
                    return
                yield frame
            elif stop in done:
                return
            elif fmt == "sse":
                yield HEARTBEAT
    finally:
        stop.cancel()
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        await source.aclose()  # type: ignore[attr-defined]
