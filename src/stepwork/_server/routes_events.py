"""``/runs/{run_id}/events``: stream a run's events (GET) and send an event into it (POST)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from stepwork._core.errors import JournalWriteError, WorkflowRuntimeError
from stepwork._server import live as live_runs
from stepwork._server.errors import ApiError, JsonResponse
from stepwork._server.inbound import MAX_QUERY_INT, only_params, query_bool, query_int, read_model
from stepwork._server.remote import deliver_remote
from stepwork._server.reserved import check_sendable
from stepwork._server.runs import RunRegistry
from stepwork._server.schemas import MAX_IDEMPOTENCY_KEY, SendEventRequest
from stepwork._server.streams import StreamFormat, event_stream
from stepwork._stores.codec import dump_event

__all__ = [
    "NDJSON_MEDIA_TYPE",
    "SSE_MEDIA_TYPE",
    "event_routes",
    "run_events",
    "send_event",
    "stream_events",
]

SSE_MEDIA_TYPE = "text/event-stream"
"""Media type of Server-Sent Events streams."""

NDJSON_MEDIA_TYPE = "application/x-ndjson"
"""Media type of NDJSON streams."""

_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _registry(request: Request) -> RunRegistry:
    registry: RunRegistry = request.app.state.registry
    return registry


def _start_offset(request: Request, fmt: StreamFormat) -> int:
    after = query_int(request, "after", -1, -1)  # checked even when the header overrides it
    assert after is not None
    last_seen = request.headers.get("last-event-id")
    if last_seen is None:
        return after
    try:
        offset = int(last_seen.strip())
    except ValueError:
        raise ApiError(
            "invalid", f"Last-Event-ID must be an offset, got {last_seen!r}.", "Last-Event-ID"
        ) from None
    if offset < -1:
        raise ApiError("invalid", "Last-Event-ID must be -1 or more.", "Last-Event-ID")
    if offset > MAX_QUERY_INT:
        raise ApiError(
            "invalid", f"Last-Event-ID must be at most {MAX_QUERY_INT}.", "Last-Event-ID"
        )
    # Checked whatever the format, so a bad header is never silently ignored; only SSE
    # readers resume from it (NDJSON readers pass ``after``).
    return offset if fmt == "sse" else after


async def stream_events(request: Request) -> Response:
    """``GET /runs/{run_id}/events``: SSE (default) or NDJSON from offset ``after`` + 1.

    404 unknown run; 422 bad ``after``, ``format``, ``internal`` or ``Last-Event-ID``.
    """
    only_params(request, "after", "format", "internal")
    registry = _registry(request)
    run_id = request.path_params["run_id"]
    raw_format = request.query_params.get("format", "sse")
    if raw_format not in ("sse", "ndjson"):
        raise ApiError("invalid", f"format must be sse or ndjson, got {raw_format!r}.", "format")
    fmt: StreamFormat = "sse" if raw_format == "sse" else "ndjson"
    after = _start_offset(request, fmt)
    internal = query_bool(request, "internal", False)
    await registry.reads.record(run_id)  # 404 before the stream starts
    frames = event_stream(
        registry,
        run_id,
        after=after,
        fmt=fmt,
        internal=internal,
        heartbeat=request.app.state.heartbeat,
    )
    media_type = SSE_MEDIA_TYPE if fmt == "sse" else NDJSON_MEDIA_TYPE
    return StreamingResponse(frames, media_type=media_type, headers=_STREAM_HEADERS)


async def send_event(request: Request) -> Response:
    """``POST /runs/{run_id}/events``: send an event into a running run; 202 once journaled.

    With an idempotency key (``Idempotency-Key`` header or ``idempotency_key`` field), a send
    whose key the run has already stored answers 202 again and journals nothing new.
    404 unknown run; 409 finished run; 422 unknown type or one stepwork reserves, data that
    does not validate, or a step that does not accept the event; 503 when the store could not
    write it (retry with the same key). A run another process executes gets the event through
    its inbox: 202 once the inbox holds it.
    """
    only_params(request)
    registry = _registry(request)
    body = await read_model(request, SendEventRequest)
    key = _idempotency_key(request, body.idempotency_key)
    record = await registry.reads.record(request.path_params["run_id"])
    entry = registry.reads.served_for(record)
    if entry is not None:
        check_sendable(entry, body.type, "type")
    event = entry.event(body.type, body.data, "") if entry is not None else None
    if key is not None and await registry.sent_before(record, key):
        return JsonResponse({"status": "sent"}, status_code=202)  # the first send's answer
    run = await registry.running(record)  # 409 when finished or not served here
    assert event is not None  # running() refused runs of workflows not served here
    if run is None:  # it executes in another process
        await deliver_remote(
            registry.store, record, "event", dump_event(event), key, time.time(), step=body.step
        )
        return JsonResponse({"status": "sent"}, status_code=202)
    handler = run.handler
    try:
        await handler.send_event(event, step=body.step, idempotency_key=key)
    except JournalWriteError:
        registry.check_stored(handler)
        raise
    except WorkflowRuntimeError as error:
        if live_runs.is_finished(handler):
            raise ApiError("conflict", f"Run {record.run_id!r} has already finished.") from None
        raise ApiError("invalid", str(error), "step") from None
    if not await live_runs.wait_written(handler):
        registry.check_stored(handler)
    return JsonResponse({"status": "sent"}, status_code=202)


def _idempotency_key(request: Request, in_body: str | None) -> str | None:
    """The send's idempotency key, from the body or the ``Idempotency-Key`` header."""
    header = request.headers.get("idempotency-key")
    if header is None:
        return in_body
    if not 1 <= len(header) <= MAX_IDEMPOTENCY_KEY or not all(" " <= c <= "~" for c in header):
        raise ApiError(
            "invalid",
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters.",
            "Idempotency-Key",
        )
    if in_body is not None and in_body != header:
        raise ApiError(
            "invalid",
            "The Idempotency-Key header and the body's idempotency_key differ; give one.",
            "idempotency_key",
        )
    return header


async def run_events(request: Request) -> Response:
    """``/runs/{run_id}/events``: GET streams, POST sends (one route, so a 405 lists both)."""
    if request.method == "POST":
        return await send_event(request)
    return await stream_events(request)


def event_routes() -> list[Route]:
    """The routes of this module."""
    return [Route("/runs/{run_id}/events", run_events, methods=["GET", "POST"])]
