"""Routes under ``/runs``: list runs, one run's status, cancel, history and fork."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stepwork._core.errors import (
    JournalConflictError,
    JournalCorruptError,
    RunNotFoundError,
    StoreError,
    WorkflowRuntimeError,
)
from stepwork._core.events import Event
from stepwork._runtime.time_travel import enqueue_fork
from stepwork._server import live as live_runs
from stepwork._server.errors import ApiError, JsonResponse, from_corrupt
from stepwork._server.inbound import only_params, query_float, query_int, read_model
from stepwork._server.remote import deliver_remote
from stepwork._server.reserved import check_sendable
from stepwork._server.run_trace import trace_fields
from stepwork._server.runs import RunRegistry
from stepwork._server.schemas import MAX_CHILDREN, ForkRequest
from stepwork._server.served import ServedWorkflow
from stepwork._stores.protocol import TERMINAL_STATUSES, RunRecord

__all__ = [
    "MAX_LIST_LIMIT",
    "cancel_run",
    "fork_run",
    "get_run",
    "list_runs",
    "run_history",
    "run_routes",
]

MAX_LIST_LIMIT = 10_000
"""The most runs ``GET /runs`` returns at once (the default is 100)."""

_STATUSES = ("running", *sorted(TERMINAL_STATUSES))


def _registry(request: Request) -> RunRegistry:
    registry: RunRegistry = request.app.state.registry
    return registry


async def list_runs(request: Request) -> Response:
    """``GET /runs``: runs matching every filter (``q``: text in the run id or error), newest
    first, ``limit`` of them from ``offset``; 422 for a bad query value."""
    only_params(
        request,
        *("workflow", "status", "created_after", "created_before", "limit", "offset", "q"),
        "parent",
    )
    registry = _registry(request)
    query = request.query_params
    statuses = query.getlist("status")
    for status in statuses:
        if status not in _STATUSES:
            raise ApiError(
                "invalid",
                f"status must be one of {', '.join(_STATUSES)}; got {status!r}.",
                "status",
            )
    names = query.getlist("workflow")
    if "" in names:
        raise ApiError("invalid", "workflow must name a workflow, got an empty value.", "workflow")
    limit = query_int(request, "limit", 100, 0)
    assert limit is not None
    if limit > MAX_LIST_LIMIT:
        raise ApiError("invalid", f"limit must be at most {MAX_LIST_LIMIT}.", "limit")
    records = await registry.store.list_runs(
        status=statuses or None,
        workflow=registry.reads.journal_names(names) if names else None,
        created_after=query_float(request, "created_after"),
        created_before=query_float(request, "created_before"),
        limit=limit,
        text=query.get("q") or None,
        offset=query_int(request, "offset", 0, 0) or 0,
        parent=query.get("parent"),
    )
    return JsonResponse({"runs": [registry.reads.info(record) for record in records]})


async def get_run(request: Request) -> Response:
    """``GET /runs/{run_id}``: the run's status and outcome, its trace id and its children;
    or 404."""
    only_params(request)
    run_id = request.path_params["run_id"]
    registry = _registry(request)
    info = await registry.reads.info_of(run_id)
    children = await registry.store.list_runs(parent=run_id, limit=MAX_CHILDREN)
    listed = [_child(registry, child) for child in reversed(children)]
    return JsonResponse({**info, **await trace_fields(request, run_id), "children": listed})


def _child(registry: RunRegistry, record: RunRecord) -> dict[str, str]:
    entry = registry.reads.served_for(record)
    name = record.workflow if entry is None else entry.name
    return {"run_id": record.run_id, "workflow": name, "status": record.status}


async def cancel_run(request: Request) -> Response:
    """``POST /runs/{run_id}/cancel``: cancel a running run once the cancellation is stored;
    404 unknown, 409 finished, 503 when the store could not write it; 202 (the run as it is)
    once it is in the inbox of a run another process executes."""
    only_params(request)
    registry = _registry(request)
    record = await registry.reads.record(request.path_params["run_id"])
    run = await registry.running(record)
    if run is None:
        # It executes in another process: its inbox takes the cancellation; 202 with the run
        # as it is now (it ends cancelled once its holder takes the message in).
        await deliver_remote(registry.store, record, "cancel", None, None, time.time())
        return JsonResponse(await registry.reads.info_of(record.run_id), status_code=202)
    await run.handler.cancel_run()
    registry.check_stored(run.handler)  # 503: the cancellation was not stored
    info = await registry.reads.info_of(record.run_id)
    if info["status"] != "cancelled":
        raise ApiError("conflict", f"Run {record.run_id!r} had already ended ({info['status']}).")
    return JsonResponse(info)


def _served(registry: RunRegistry, record: RunRecord) -> ServedWorkflow:
    entry = registry.reads.served_for(record)
    if entry is None:
        raise ApiError(
            "not_found",
            f"Run {record.run_id!r} belongs to workflow {record.workflow!r}, which this server "
            "does not serve.",
        )
    return entry


async def run_history(request: Request) -> Response:
    """``GET /runs/{run_id}/history``: one entry per journaled tick; 404 unknown run, 409
    ``journal_corrupt`` naming the first tick that is missing or cannot be read."""
    only_params(request)
    registry = _registry(request)
    record = await registry.reads.record(request.path_params["run_id"])
    try:
        entries = await _served(registry, record).workflow.history(record.run_id)
    except RunNotFoundError:
        entries = []  # a run queued here, not journaled yet
    return JsonResponse(
        {
            **await trace_fields(request, record.run_id),
            "entries": [
                {
                    "seq": entry.seq,
                    "at": entry.at,
                    "kind": entry.kind,
                    "summary": entry.summary,
                    "effects": list(entry.effects),
                    "status": entry.status,
                    "writer": entry.writer,
                    "epoch": entry.epoch,
                }
                for entry in entries
            ],
        }
    )


async def fork_run(request: Request) -> Response:
    """``POST /runs/{run_id}/fork``: a new run from the first ``at`` ticks of this one; 202.

    404 unknown run, 409 taken run id, 422 bad ``at`` or events.
    """
    only_params(request)
    registry = _registry(request)
    record = await registry.reads.record(request.path_params["run_id"])
    entry = _served(registry, record)
    body = await read_model(request, ForkRequest)
    if body.at > record.ticks:
        raise ApiError(
            "invalid", f"at must be between 1 and {record.ticks} (the run's ticks).", "at"
        )
    for index, item in enumerate(body.events or ()):
        check_sendable(entry, item.type, f"events.{index}.type")
    events = [
        entry.event(item.type, item.data, f"events.{index}")
        for index, item in enumerate(body.events or ())
    ]
    registry.check_accepting()
    if body.run_id is not None:
        await registry.reads.ensure_absent(body.run_id)
    if not registry.executes:
        return await _enqueue_fork(registry, entry, record, body, events)
    handler = entry.workflow.fork(
        record.run_id,
        at=body.at,
        state_patch=body.state_patch,
        events=events,
        new_run_id=body.run_id,
    )
    run = await registry.adopt(entry, handler)
    if handler.done() and not handler.cancelled() and not await live_runs.wait_started(handler):
        registry.check_stored(handler)  # the copy could not be written: nothing is stored
        raise _fork_failed(handler.exception(), body.run_id)
    return JsonResponse(await registry.reads.info_of(run.handler.run_id), status_code=202)


async def _enqueue_fork(
    registry: RunRegistry,
    entry: ServedWorkflow,
    record: RunRecord,
    body: ForkRequest,
    events: list[Event],
) -> Response:
    """A fork written for a worker to continue (a server that executes nothing itself)."""
    try:
        run_id = await enqueue_fork(
            entry.workflow,
            record.run_id,
            at=body.at,
            state_patch=body.state_patch,
            events=events,
            new_run_id=body.run_id,
        )
    except StoreError as error:
        if not isinstance(error, JournalConflictError | JournalCorruptError | RunNotFoundError):
            raise  # 503: nothing was stored
        raise _fork_failed(error, body.run_id) from None
    except (ValueError, WorkflowRuntimeError) as error:
        raise _fork_failed(error, body.run_id) from None
    return JsonResponse(await registry.reads.info_of(run_id), status_code=202)


def _fork_failed(error: BaseException | None, run_id: str | None) -> ApiError:
    if isinstance(error, JournalCorruptError):
        return from_corrupt(error, None, "The fork could not read the ticks it copies. ")
    if isinstance(error, JournalConflictError):
        return ApiError("conflict", f"A run {run_id!r} already exists.", "run_id")
    if isinstance(error, RunNotFoundError):
        return ApiError("not_found", str(error))
    field = "state_patch" if not isinstance(error, WorkflowRuntimeError) else None
    return ApiError("invalid", f"The fork could not start: {error}", field)


def run_routes() -> list[Route]:
    """The routes of this module (``/runs/{run_id}/events`` is in ``routes_events``)."""
    return [
        Route("/runs", list_runs, methods=["GET"]),
        Route("/runs/{run_id}", get_run, methods=["GET"]),
        Route("/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
        Route("/runs/{run_id}/history", run_history, methods=["GET"]),
        Route("/runs/{run_id}/fork", fork_run, methods=["POST"]),
    ]
