"""The blocking client for a stepwork server (``docs/http-api.md``), on ``httpx.Client``.

The methods of :class:`~stepwork._client.async_client.AsyncClient`, on httpx's sync client.

Example:
    >>> with Client("http://127.0.0.1:8000", token="s3cret") as client:
    ...     client
    Client('http://127.0.0.1:8000')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from stepwork._client import calls
from stepwork._client.endpoint import Endpoint
from stepwork._client.extra import httpx, transport_error
from stepwork._client.follow import ReconnectPolicy, StreamCursor
from stepwork._client.models import HistoryEntry, RunInfo, RunStatus, WorkflowInfo
from stepwork._client.sync_stream import Deadline, EventStream, follow_sync

__all__ = ["Client"]

T = TypeVar("T")


class Client:
    """Talks to a stepwork server from blocking code.

    Every method raises a :class:`~stepwork._client.errors.StepworkClientError` subclass on
    failure: ``UnauthorizedError`` (401), ``NotFoundError`` (404), ``ConflictError`` (409),
    ``RequestTooLargeError`` (413), ``InvalidRequestError`` (422, ``field`` names the field),
    ``ServerError`` (5xx), ``ClientConnectionError`` (server unreachable) and
    ``ClientTimeoutError`` (no answer within ``timeout``), each carrying the server's message.

    Args:
        base_url: The server's URL, for example ``http://127.0.0.1:8000``.
        token: The bearer token, when the server was started with one.
        timeout: Seconds to wait for a connection or for the next bytes of an answer.
        httpx_client: An ``httpx.Client`` to send requests with (its own timeouts then
            apply); the caller keeps ownership and closes it.
        reconnect: How a stream reconnects after its connection drops.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        httpx_client: httpx.Client | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        self._endpoint = Endpoint(base_url, token=token)
        self._owned = httpx_client is None
        if httpx_client is None:
            httpx_client = httpx.Client(timeout=timeout)
        self._http = httpx_client
        self._reconnect = reconnect or ReconnectPolicy()

    def __repr__(self) -> str:
        return f"Client({self._endpoint.base_url!r})"

    def close(self) -> None:
        """Close the connections, unless the httpx client was passed in."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, call: calls.Call[T]) -> T:
        try:
            response = self._http.request(
                call.method,
                self._endpoint.url(call.path),
                params=call.params,
                json=call.body,
                headers=self._endpoint.headers(),
            )
        except httpx.TransportError as error:
            raise transport_error(error, f"{call.method} {call.path}", call.run_id) from error
        return call.finish(response.status_code, response.content)

    def health(self) -> dict[str, Any]:
        """The server's health, ``{"status": "healthy"}`` (``"ok"`` from older servers);
        needs no token.

        Raises:
            StepworkClientError: As the class describes.
        """
        return self._call(calls.health())

    def list_workflows(self) -> list[WorkflowInfo]:
        """The workflows the server serves, with their start schemas and graphs.

        Raises:
            StepworkClientError: As the class describes.
        """
        return self._call(calls.list_workflows())

    def get_workflow(self, name: str) -> WorkflowInfo:
        """One workflow by name.

        Raises:
            NotFoundError: If the server serves no workflow by that name.
            StepworkClientError: As the class describes.
        """
        return self._call(calls.get_workflow(name))

    def start(
        self,
        workflow: str,
        input: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        continue_from: str | None = None,
    ) -> RunInfo:
        """Start a run and return at once (status ``running``).

        Args:
            workflow: The workflow's name on the server.
            input: The start event's fields.
            run_id: The new run's id; the server picks one when omitted.
            continue_from: A finished run of the same workflow whose final ``ctx.store``
                state the new run starts with.

        Raises:
            NotFoundError: If there is no such workflow, or no run ``continue_from``.
            ConflictError: If ``run_id`` is taken, or ``continue_from`` has not finished or is
                another workflow's run.
            InvalidRequestError: If ``input`` does not validate (``field`` names the field).
            StepworkClientError: As the class describes.
        """
        return self._call(calls.start(workflow, input, run_id, continue_from))

    def run(
        self,
        workflow: str,
        input: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        continue_from: str | None = None,
        timeout: float | None = None,
    ) -> RunInfo:
        """Start a run and wait for it to end (see :meth:`start` and :meth:`wait`).

        Raises:
            ClientTimeoutError: If the run has not ended after ``timeout`` seconds (it goes on).
            StepworkClientError: As :meth:`start` and :meth:`wait` describe.
        """
        info = self.start(workflow, input, run_id=run_id, continue_from=continue_from)
        return self.wait(info.run_id, timeout=timeout)

    def get_run(self, run_id: str) -> RunInfo:
        """A run's status, its result or error once it ended, its parent and children.

        Raises:
            NotFoundError: If there is no such run.
            StepworkClientError: As the class describes.
        """
        return self._call(calls.get_run(run_id))

    def wait(self, run_id: str, *, timeout: float | None = None) -> RunInfo:
        """Wait for a run to end by following its event stream, then return its final state.

        Args:
            run_id: The run.
            timeout: Give up after this many seconds (``None``: as long as it takes), checked
                whenever bytes arrive (heartbeats too).

        Raises:
            NotFoundError: If there is no such run.
            ClientTimeoutError: If the run has not ended in time; the run itself goes on.
            StepworkClientError: As :meth:`stream` describes.
        """
        with self._stream(
            run_id, after=-1, internal=False, deadline=Deadline(timeout, run_id)
        ) as events:
            for _ in events:
                pass
        return self.get_run(run_id)

    def stream(self, run_id: str, *, after: int = -1, internal: bool = False) -> EventStream:
        """Follow a run's events, from the start or after an offset, up to its terminal event.

        A dropped connection is resumed from the last offset seen (``Last-Event-ID``) with
        backoff, and no offset is yielded twice. ``with`` closes the connection when you
        stop early; ``last_offset`` tells where to resume later.

        Args:
            run_id: The run.
            after: Yield events with a larger offset only (-1: all of them).
            internal: Include the engine's bookkeeping events.

        Raises:
            NotFoundError: If there is no such run (when iterated).
            ClientConnectionError: If the connection keeps dropping past the reconnect policy.
            StepworkClientError: As the class describes.
        """
        return self._stream(run_id, after=after, internal=internal, deadline=Deadline(None, run_id))

    def _stream(
        self, run_id: str, *, after: int, internal: bool, deadline: Deadline
    ) -> EventStream:
        cursor = StreamCursor(run_id, after=after, policy=self._reconnect, internal=internal)
        events = follow_sync(
            self._http, self._endpoint, cursor, lambda: self.get_run(run_id), deadline
        )
        return EventStream(cursor, events)

    def send(
        self,
        run_id: str,
        type: str,
        data: Mapping[str, Any] | None = None,
        *,
        step: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Send an event into a run, for example a human's answer.

        Args:
            run_id: The run.
            type: The event's class name, as the workflow knows it.
            data: The event's fields.
            step: Deliver to this step only.
            idempotency_key: Your key for this send (printable ASCII, at most 200
                characters). The server journals it with the event; sending again with the
                same key (after a timeout, a dropped connection or ``UnavailableError``)
                delivers the event at most once, and answers as the first send did.

        Raises:
            NotFoundError: If there is no such run.
            ConflictError: If the run has already ended.
            InvalidRequestError: If the type is unknown, the data does not validate, or the step
                does not accept the event.
            UnavailableError: If the server could not store the event; retry with the same
                ``idempotency_key``.
            StepworkClientError: As the class describes.
        """
        self._call(calls.send(run_id, type, data, step, idempotency_key))

    def cancel(self, run_id: str) -> RunInfo:
        """Cancel a run; returns it with status ``cancelled``.

        Raises:
            NotFoundError: If there is no such run.
            ConflictError: If the run has already ended.
            StepworkClientError: As the class describes.
        """
        return self._call(calls.cancel(run_id))

    def list_runs(
        self,
        *,
        workflow: str | Sequence[str] | None = None,
        status: RunStatus | Sequence[RunStatus] | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
        limit: int | None = None,
        parent: str | None = None,
    ) -> list[RunInfo]:
        """Runs, newest first, filtered by workflow(s), status(es), creation time and parent
        run (``parent``: only the children of that run).

        Raises:
            InvalidRequestError: If a filter is not valid.
            StepworkClientError: As the class describes.
        """
        call = calls.list_runs(workflow, status, created_after, created_before, limit, parent)
        return self._call(call)

    def history(self, run_id: str) -> list[HistoryEntry]:
        """A journaled run's ticks and what each changed.

        Raises:
            NotFoundError: If there is no such run.
            StepworkClientError: As the class describes.
        """
        return self._call(calls.history(run_id))

    def fork(
        self,
        run_id: str,
        *,
        at: int,
        state_patch: Mapping[str, Any] | None = None,
        events: Sequence[Mapping[str, Any]] | None = None,
        new_run_id: str | None = None,
    ) -> RunInfo:
        """Start a new run from a run's history at tick ``at`` (see :meth:`history`).

        Args:
            run_id: The run to fork.
            at: The tick (``HistoryEntry.seq``) to fork at.
            state_patch: Values to change in the state at that point.
            events: Events to send to the new run, each ``{"type": ..., "data": {...}}``.
            new_run_id: The new run's id; the server picks one when omitted.

        Raises:
            NotFoundError: If there is no such run.
            ConflictError: If ``new_run_id`` is taken.
            InvalidRequestError: If ``at`` or ``events`` are not valid.
            StepworkClientError: As the class describes.
        """
        call = calls.fork(run_id, at, state_patch, events, new_run_id)
        return self._call(call)
