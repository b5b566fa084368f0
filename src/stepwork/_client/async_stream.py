"""Following a run's events over SSE with httpx's async client, reconnecting when dropped.

The loop opens ``GET /runs/{id}/events`` (SSE), parses frames as bytes arrive and hands each new
envelope to the caller. When the connection fails, times out, answers 5xx, or ends before the
terminal event, it reconnects from the last offset (``Last-Event-ID``) as the
:class:`~stepwork._client.follow.ReconnectPolicy` allows. A stream that ends without a single new
event is over if the run has already finished (the caller asked for events after its end).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType

from stepwork._client.calls import error_for
from stepwork._client.endpoint import Endpoint
from stepwork._client.errors import (
    ClientConnectionError,
    ClientTimeoutError,
    ServerError,
    StepworkClientError,
)
from stepwork._client.extra import httpx, transport_error
from stepwork._client.follow import StreamCursor
from stepwork._client.models import EventEnvelope, RunInfo
from stepwork._client.sse import SSEParser

__all__ = ["AsyncEventStream", "follow_async"]


async def follow_async(
    http: httpx.AsyncClient,
    endpoint: Endpoint,
    cursor: StreamCursor,
    get_run: Callable[[], Awaitable[RunInfo]],
) -> AsyncGenerator[EventEnvelope, None]:
    """Yield the run's events after ``cursor.last_offset`` until the terminal one.

    Raises:
        NotFoundError: If there is no such run.
        StepworkClientError: Another 4xx as its subclass; after the policy's reconnect attempts,
            the last ``ClientConnectionError``, ``ClientTimeoutError`` or ``ServerError``.
    """
    what = f"following the events of run {cursor.run_id!r}"
    while not cursor.done:
        cursor.connected()
        drop: StepworkClientError | None = None
        try:
            async with http.stream(
                "GET",
                endpoint.url(cursor.path),
                params=cursor.params(),
                headers=endpoint.headers(cursor.headers()),
            ) as response:
                if response.status_code != 200:
                    drop = error_for(
                        response.status_code, await response.aread(), run_id=cursor.run_id
                    )
                    if not isinstance(drop, ServerError):
                        raise drop
                else:
                    parser = SSEParser()
                    async for chunk in response.aiter_bytes():
                        heard = parser.comments
                        for message in parser.feed(chunk):
                            envelope = cursor.accept(message)
                            if envelope is not None:
                                yield envelope
                                if cursor.done:
                                    return
                        if parser.comments != heard:
                            cursor.alive()
        except httpx.TransportError as error:
            drop = transport_error(error, what, cursor.run_id)
        if drop is None:
            # The server closed the stream before the terminal event.
            drop = ClientConnectionError(f"{what}: the stream ended early", run_id=cursor.run_id)
            if not cursor.delivered and await _finished(get_run):
                return
        delay = cursor.dropped(drop)
        if delay:
            await asyncio.sleep(delay)


async def _finished(get_run: Callable[[], Awaitable[RunInfo]]) -> bool:
    try:
        return (await get_run()).finished
    except (ClientConnectionError, ClientTimeoutError, ServerError):
        return False


class AsyncEventStream:
    """An async iterator of a run's :class:`EventEnvelope` objects; closing it hangs up.

    Use it in ``async for``; wrap it in ``async with`` (or call :meth:`aclose`) to close the
    connection at once when you stop reading early.

    Attributes:
        last_offset: The offset of the last event yielded; pass it as ``after=`` to resume.
    """

    def __init__(self, cursor: StreamCursor, events: AsyncGenerator[EventEnvelope, None]) -> None:
        self._cursor = cursor
        self._events = events

    @property
    def last_offset(self) -> int:
        """The offset of the last event yielded (the ``after`` it started from before any)."""
        return self._cursor.last_offset

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> EventEnvelope:
        """The next event.

        Raises:
            StopAsyncIteration: After the terminal event.
            StepworkClientError: As :func:`follow_async` describes.
        """
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop following and close the connection."""
        await self._events.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
