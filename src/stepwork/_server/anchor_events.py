"""LlamaIndex Workflows' event routes, served beside stepwork's: ``/events/{handler_id}``.

``GET`` streams a run's events in the anchor's framing: SSE frames ``id: <sequence>`` and
``data: <EventEnvelopeWithMetadata>`` (no ``event:`` line), or NDJSON with ``sse=false``.
``after_sequence`` is an offset (``-1``: from the start) or ``now`` (the default: only what
comes next); in SSE mode a ``Last-Event-ID`` header overrides it. A run that has ended with
nothing after the cursor answers 204. The stream is stepwork's own (``streams.event_stream``:
memory or store, heartbeats, shutdown), re-framed, so sequences are stepwork's offsets.

``POST`` sends an event to a running run: ``{"event": {"type" | "qualified_name", "value"},
"step"?}``. The class is one of the served workflow's own, found by its name.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from stepwork._core.errors import WorkflowRuntimeError
from stepwork._server import live as live_runs
from stepwork._server.anchor_routes import anchor_endpoint, handler_record, registry
from stepwork._server.anchor_shapes import anchor_envelope, event_reference
from stepwork._server.errors import ApiError, JsonResponse
from stepwork._server.inbound import parse_json
from stepwork._server.remote import deliver_remote
from stepwork._server.streams import HEARTBEAT, event_stream
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import TERMINAL_STATUSES
from stepwork._stores.type_registry import TypeRegistry

__all__ = ["anchor_event_routes", "anchor_frames", "events"]

_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ApiError("invalid", f"{name} must be true or false, got {raw!r}.", name)


def _cursor(raw: str, what: str) -> int | None:
    """An offset (``-1`` or more), or ``None`` for ``now``."""
    if raw.strip().lower() == "now":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        value = -2
    if value < -1:
        raise ApiError(
            "invalid", f"Invalid {what}: {raw!r} (an integer of -1 or more, or 'now').", what
        )
    return value


async def anchor_frames(
    frames: AsyncIterator[bytes], types: TypeRegistry, *, sse: bool, qualified: bool
) -> AsyncIterator[bytes]:
    """stepwork's SSE frames of a run re-framed as the anchor's SSE frames or NDJSON lines."""
    async for frame in frames:
        if frame.startswith(b":"):
            if sse:
                yield HEARTBEAT
            continue
        data = frame.partition(b"\ndata: ")[2]
        item: dict[str, Any] = json.loads(data)
        name = item["qualified_name"]
        envelope = anchor_envelope(
            types.resolve(name), item["type"], name if qualified else None, item["data"]
        )
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
        if sse:
            yield f"id: {item['offset']}\ndata: {text}\n\n".encode()
        else:
            yield (text + "\n").encode()


async def stream(request: Request) -> Response:
    """``GET /events/{handler_id}``: the run's events from ``after_sequence`` (see module)."""
    runs = registry(request)
    sse = _flag(request, "sse", True)
    internal = _flag(request, "include_internal", False)
    qualified = _flag(request, "include_qualified_name", True)
    after = _cursor(request.query_params.get("after_sequence", "now"), "after_sequence")
    last_seen = request.headers.get("last-event-id")
    if sse and last_seen is not None:
        after = _cursor(last_seen, "Last-Event-ID")
    record = await handler_record(request)
    live = runs.live.get(record.run_id)
    if after is None:  # "now": what the run has published so far is skipped
        if live is not None:
            await live_runs.wait_written(live.handler)
            record = await runs.reads.record(record.run_id)
        after = record.events - 1
    if record.status in TERMINAL_STATUSES and after >= record.events - 1:
        return Response(status_code=204)  # the run has ended and nothing remains to send
    entry = runs.reads.served_for(record)
    types = entry.registry if entry is not None else TypeRegistry.default()
    frames = event_stream(
        runs,
        record.run_id,
        after=after,
        fmt="sse",
        internal=internal,
        heartbeat=request.app.state.heartbeat,
    )
    body = anchor_frames(frames, types, sse=sse, qualified=qualified)
    media_type = "text/event-stream" if sse else "application/x-ndjson"
    return StreamingResponse(body, media_type=media_type, headers=_STREAM_HEADERS)


async def send(request: Request) -> Response:
    """``POST /events/{handler_id}``: send an event to the running run; ``{"status": "sent"}``
    once it is journaled. 400 bad event, 404 unknown handler, 409 run already ended."""
    runs = registry(request)
    body = parse_json(await request.body())
    if not isinstance(body, dict) or body.get("event") in (None, "", {}):
        raise ApiError("invalid", 'Event data is required: send {"event": {type, value}}.')
    step = body.get("step")
    if step is not None and not isinstance(step, str):
        raise ApiError("invalid", "step must be a step name.", "step")
    record = await handler_record(request)
    entry = runs.reads.served_for(record)
    if entry is None:
        raise ApiError(
            "conflict",
            f"Run {record.run_id!r} belongs to workflow {record.workflow!r}, which this server "
            "does not serve.",
        )
    name, value = event_reference(body["event"])
    try:
        event = entry.event(name, value, "event")
    except ApiError as error:
        if error.field != "event.type":
            raise
        message = f"Invalid event type: {name}. {error.message}"
        raise ApiError("invalid", message, error.field) from None
    if record.status in TERMINAL_STATUSES:
        raise ApiError("conflict", f"Workflow already completed: run {record.run_id!r} ended.")
    run = await runs.running(record)
    if run is None:
        await deliver_remote(runs.store, record, "event", dump_event(event), None, time.time())
        return JsonResponse({"status": "sent"})
    try:
        await run.handler.send_event(event, step=step)
    except WorkflowRuntimeError as error:
        if live_runs.is_finished(run.handler):
            raise ApiError("conflict", f"Workflow already completed: {error}") from None
        raise ApiError("invalid", str(error), "step") from None
    await live_runs.wait_written(run.handler)
    return JsonResponse({"status": "sent"})


async def events(request: Request) -> Response:
    """``/events/{handler_id}``: GET streams, POST sends."""
    if request.method == "POST":
        return await send(request)
    return await stream(request)


def anchor_event_routes() -> list[Route]:
    """The anchor's ``/events/{handler_id}`` route."""
    return [Route("/events/{handler_id}", anchor_endpoint(events), methods=["GET", "POST"])]
