"""LlamaIndex Workflows' server routes for workflows and handlers, served beside stepwork's.

So that ``llama-agents-client`` and front ends written for ``llama-agents-server`` work with
``stepwork serve`` unchanged: ``POST /workflows/{name}/run`` (run and wait) and
``/run-nowait``, ``GET /workflows/{name}/schema`` and ``/events``, ``GET /handlers``,
``GET /handlers/{id}`` (and the older ``GET /results/{id}``) and
``POST /handlers/{id}/cancel``. The event routes are in ``anchor_events``.

Runs go through the server's run registry like any other, so they are journaled, listed at
``GET /runs`` and streamed at ``/runs/{id}/events`` too; a handler id is a run id. Errors
have the anchor's shape and statuses: ``{"detail": ...}``, 400 for a bad request.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stepwork._core.errors import StartEventError
from stepwork._runtime.observe_context import parent_from_headers
from stepwork._server.anchor_shapes import handler_data, handler_statuses, start_event_fields
from stepwork._server.errors import ApiError, JsonResponse, from_validation
from stepwork._server.inbound import parse_json
from stepwork._server.remote import deliver_remote
from stepwork._server.runs import RunRegistry
from stepwork._server.schemas import RUN_ID_PATTERN
from stepwork._server.served import ServedWorkflow
from stepwork._server.starting import launch_run, wait_ended
from stepwork._stores.protocol import TERMINAL_STATUSES, RunRecord

__all__ = ["ANCHOR_ERROR_STATUS", "anchor_endpoint", "anchor_routes", "detail_response"]

ANCHOR_ERROR_STATUS = {
    "not_found": 404,
    "conflict": 409,
    "invalid": 400,
    "unauthorized": 401,
    "too_large": 413,
    "unavailable": 503,
    "internal": 500,
}
"""The status the anchor's routes answer for each of stepwork's error codes."""

_Endpoint = Callable[[Request], Awaitable[Response]]


def detail_response(error: ApiError) -> JsonResponse:
    """The anchor's error body ``{"detail": message}`` with its status for ``error``."""
    return JsonResponse({"detail": error.message}, status_code=ANCHOR_ERROR_STATUS[error.code])


def anchor_endpoint(endpoint: _Endpoint) -> _Endpoint:
    """Wrap an endpoint so its ``ApiError`` is answered in the anchor's error shape."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as error:
            return detail_response(error)

    return wrapped


def registry(request: Request) -> RunRegistry:
    """The app's run registry."""
    found: RunRegistry = request.app.state.registry
    return found


async def handler_record(request: Request) -> RunRecord:
    """The run named by the path's ``handler_id``.

    Raises:
        ApiError: 404 ``Handler not found`` if there is none.
    """
    handler_id = request.path_params["handler_id"]
    try:
        return await registry(request).reads.record(handler_id)
    except ApiError as error:
        if error.code != "not_found":
            raise
        raise ApiError("not_found", f"Handler not found: no run {handler_id!r}.") from None


def _data(request: Request, record: RunRecord) -> dict[str, Any]:
    return handler_data(record, registry(request).reads.served_for(record))


async def _body(request: Request) -> dict[str, Any]:
    value = parse_json(await request.body())
    if not isinstance(value, dict):
        raise ApiError("invalid", f"The body must be a JSON object, got {type(value).__name__}.")
    return value


async def _start(request: Request, *, wait: bool) -> str:
    runs = registry(request)
    entry = _served(request)
    body = await _body(request)
    if body.get("context"):
        raise ApiError(
            "invalid",
            "context is not accepted: stepwork does not start runs from a posted context. "
            "Continue a finished run with POST /workflows/{name}/runs and continue_from.",
            "context",
        )
    handler_id = body.get("handler_id")
    if handler_id is not None and (
        not isinstance(handler_id, str) or not re.fullmatch(RUN_ID_PATTERN, handler_id)
    ):
        raise ApiError("invalid", f"handler_id must match {RUN_ID_PATTERN}.", "handler_id")
    try:
        start_event = entry.workflow.start_event_class(**start_event_fields(body, entry))
    except ValidationError as error:
        raise from_validation(error, "start_event") from None
    except (TypeError, ValueError) as error:
        raise ApiError("invalid", f"start_event: {error}", "start_event") from None
    runs.check_accepting()
    if handler_id is not None:
        await _absent(runs, handler_id, entry.name)
    try:
        with parent_from_headers(request.headers):  # a caller's trace parents the run
            run_id = await launch_run(runs, entry, start_event, handler_id, field="handler_id")
    except StartEventError as error:
        raise ApiError("invalid", f"start_event: {error}", "start_event") from None
    if wait:
        await wait_ended(runs, run_id)
    return run_id


async def _absent(runs: RunRegistry, handler_id: str, name: str) -> None:
    try:
        await runs.reads.ensure_absent(handler_id)
    except ApiError as error:
        raise ApiError(
            "conflict",
            f"{error.message} stepwork does not reuse a run id, so a finished handler is not "
            f"continued under its id: start a new run of its final state with "
            f'{{"continue_from": "{handler_id}"}} on POST /workflows/{name}/runs.',
            "handler_id",
        ) from None


async def run_workflow(request: Request) -> Response:
    """``POST /workflows/{name}/run``: run and wait; 200 completed, 500 any other ending."""
    run_id = await _start(request, wait=True)
    data = _data(request, await registry(request).reads.record(run_id))
    return JsonResponse(data, status_code=200 if data["status"] == "completed" else 500)


async def run_workflow_nowait(request: Request) -> Response:
    """``POST /workflows/{name}/run-nowait``: start a run; 200 once it is journaled."""
    run_id = await _start(request, wait=False)
    return JsonResponse(_data(request, await registry(request).reads.record(run_id)))


async def workflow_schema(request: Request) -> Response:
    """``GET /workflows/{name}/schema``: the start and stop event classes' JSON schemas."""
    workflow = _served(request).workflow
    return JsonResponse(
        {
            "start": workflow.start_event_class.model_json_schema(),
            "stop": workflow.stop_event_class.model_json_schema(),
        }
    )


async def workflow_events(request: Request) -> Response:
    """``GET /workflows/{name}/events``: the JSON schema of every event the workflow uses."""
    entry = _served(request)
    classes = sorted(entry.workflow.events, key=lambda cls: cls.__name__)
    return JsonResponse({"events": [cls.model_json_schema() for cls in classes]})


def _served(request: Request) -> ServedWorkflow:
    name = request.path_params["name"]
    entry = registry(request).served.get(name)
    if entry is None:
        raise ApiError("not_found", f"Workflow not found: {name!r} is not served here.")
    return entry


async def list_handlers(request: Request) -> Response:
    """``GET /handlers``: runs, oldest first, filtered by ``status`` and ``workflow_name``."""
    runs = registry(request)
    query = request.query_params
    statuses = [s for s in query.getlist("status") if s]
    names = [n for n in query.getlist("workflow_name") if n]
    wanted = handler_statuses(statuses)
    if statuses and not wanted:
        return JsonResponse({"handlers": []})  # only unknown statuses: nothing matches
    records = await runs.store.list_runs(
        status=wanted or None, workflow=runs.reads.journal_names(names) if names else None
    )
    return JsonResponse({"handlers": [_data(request, r) for r in reversed(records)]})


async def get_handler(request: Request) -> Response:
    """``GET /handlers/{handler_id}``: 200 completed, 202 running, 500 failed or cancelled."""
    data = _data(request, await handler_record(request))
    status = {"completed": 200, "running": 202}.get(data["status"], 500)
    return JsonResponse(data, status_code=status)


async def get_result(request: Request) -> Response:
    """``GET /results/{handler_id}`` (the anchor's older route): as ``/handlers/{id}``, with
    ``result`` the bare value (a plain ``StopEvent``'s ``result``, else the event's fields)."""
    data = _data(request, await handler_record(request))
    envelope = data["result"]
    if envelope is not None:
        value = envelope["value"]
        data["result"] = value.get("result") if envelope["type"] == "StopEvent" else value
    status = {"completed": 200, "running": 202}.get(data["status"], 500)
    return JsonResponse(data, status_code=status)


async def cancel_handler(request: Request) -> Response:
    """``POST /handlers/{handler_id}/cancel``: cancel a running run (``{"status":
    "cancelled"}``), or with ``purge=true`` also delete it from the store (``"deleted"``)."""
    runs = registry(request)
    record = await handler_record(request)
    purge = request.query_params.get("purge", "false").lower() in ("true", "1")
    if record.status not in TERMINAL_STATUSES:
        run = await runs.running(record)
        if run is None:
            await deliver_remote(runs.store, record, "cancel", None, None, time.time())
        else:
            await run.handler.cancel_run()
    elif not purge:
        raise ApiError(
            "not_found",
            f"Handler not found among running handlers: run {record.run_id!r} has already "
            f"ended ({record.status}). Pass purge=true to delete it.",
        )
    if not purge:
        return JsonResponse({"status": "cancelled"})
    await runs.store.delete_run(record.run_id)
    return JsonResponse({"status": "deleted"})


def anchor_routes() -> list[Route]:
    """The anchor's workflow and handler routes (its event routes are in ``anchor_events``)."""
    table: list[tuple[str, _Endpoint, str]] = [
        ("/workflows/{name}/run", run_workflow, "POST"),
        ("/workflows/{name}/run-nowait", run_workflow_nowait, "POST"),
        ("/workflows/{name}/schema", workflow_schema, "GET"),
        ("/workflows/{name}/events", workflow_events, "GET"),
        ("/handlers", list_handlers, "GET"),
        ("/handlers/{handler_id}", get_handler, "GET"),
        ("/results/{handler_id}", get_result, "GET"),
        ("/handlers/{handler_id}/cancel", cancel_handler, "POST"),
    ]
    return [Route(path, anchor_endpoint(fn), methods=[method]) for path, fn, method in table]
