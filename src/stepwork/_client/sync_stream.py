"""Following a run's events over SSE with httpx's sync client, reconnecting when dropped.

The same loop as :mod:`stepwork._client.async_stream`, blocking, plus an optional deadline for
``Client.wait``: each request's timeouts are cut to the time left, and the deadline is checked
whenever bytes arrive (the server's heartbeats included), so waiting overshoots by at most one
heartbeat interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
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

__all__ = ["Deadline", "EventStream", "follow_sync"]


class Deadline:
    """A point in time a blocking wait must not pass.

    Args:
        timeout: Seconds from now, or ``None`` for no deadline.
        run_id: The run waited for, named in the error.
    """

    def __init__(self, timeout: float | None, run_id: str) -> None:
        self.timeout = timeout
        self.run_id = run_id
        self._at = None if timeout is None else time.monotonic() + timeout

    def left(self) -> float | None:
        """Seconds left, or ``None`` without a deadline.

        Raises:
            ClientTimeoutError: If the deadline has passed.
        """
        if self._at is None:
            return None
        left = self._at - time.monotonic()
        if left <= 0:
            raise ClientTimeoutError(
                f"run {self.run_id!r} did not end within {self.timeout} s", run_id=self.run_id
            )
        return left

    def bound(self, timeout: httpx.Timeout) -> httpx.Timeout:
        """``timeout`` with each part cut to the time left.

        Raises:
            ClientTimeoutError: If the deadline has passed.
        """
        left = self.left()
        if left is None:
            return timeout

        def cut(part: float | None) -> float:
            return left if part is None else min(part, left)

        return httpx.Timeout(
            connect=cut(timeout.connect),
            read=cut(timeout.read),
            write=cut(timeout.write),
            pool=cut(timeout.pool),
        )


def follow_sync(
    http: httpx.Client,
    endpoint: Endpoint,
    cursor: StreamCursor,
    get_run: Callable[[], RunInfo],
    deadline: Deadline,
) -> Generator[EventEnvelope, None, None]:
    """Yield the run's events after ``cursor.last_offset`` until the terminal one.

    Raises:
        NotFoundError: If there is no such run.
        ClientTimeoutError: When ``deadline`` passes.
        StepworkClientError: Another 4xx as its subclass; after the policy's reconnect attempts,
            the last ``ClientConnectionError``, ``ClientTimeoutError`` or ``ServerError``.
    """
    what = f"following the events of run {cursor.run_id!r}"
    while not cursor.done:
        cursor.connected()
        drop: StepworkClientError | None = None
        try:
            with http.stream(
                "GET",
                endpoint.url(cursor.path),
                params=cursor.params(),
                headers=endpoint.headers(cursor.headers()),
                timeout=deadline.bound(http.timeout),
            ) as response:
                if response.status_code != 200:
                    drop = error_for(response.status_code, response.read(), run_id=cursor.run_id)
                    if not isinstance(drop, ServerError):
                        raise drop
                else:
                    parser = SSEParser()
                    for chunk in response.iter_bytes():
                        heard = parser.comments
                        for message in parser.feed(chunk):
                            envelope = cursor.accept(message)
                            if envelope is not None:
                                yield envelope
                                if cursor.done:
                                    return
                        if parser.comments != heard:
                            cursor.alive()
                        deadline.left()
        except httpx.TransportError as error:
            drop = transport_error(error, what, cursor.run_id)
        if drop is None:
            # The server closed the stream before the terminal event.
            drop = ClientConnectionError(f"{what}: the stream ended early", run_id=cursor.run_id)
            if not cursor.delivered and _finished(get_run):
                return
        delay = cursor.dropped(drop)
        left = deadline.left()
        if delay:
            time.sleep(delay if left is None else min(delay, left))


def _finished(get_run: Callable[[], RunInfo]) -> bool:
    try:
        return get_run().finished
    except (ClientConnectionError, ClientTimeoutError, ServerError):
        return False


class EventStream:
    """An iterator of a run's :class:`EventEnvelope` objects; closing it hangs up.

    Use it in ``for``; wrap it in ``with`` (or call :meth:`close`) to close the connection at
    once when you stop reading early.

    Attributes:
        last_offset: The offset of the last event yielded; pass it as ``after=`` to resume.
    """

    def __init__(self, cursor: StreamCursor, events: Generator[EventEnvelope, None, None]) -> None:
        self._cursor = cursor
        self._events = events

    @property
    def last_offset(self) -> int:
        """The offset of the last event yielded (the ``after`` it started from before any)."""
        return self._cursor.last_offset

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> EventEnvelope:
        """The next event.

        Raises:
            StopIteration: After the terminal event.
            StepworkClientError: As :func:`follow_sync` describes.
        """
        return next(self._events)

    def close(self) -> None:
        """Stop following and close the connection."""
        self._events.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
