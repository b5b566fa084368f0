"""Routes under ``/schedules``: list, add, read, pause, resume and delete the store's schedules.

A schedule names a served workflow, whose start event checks ``start`` when it is added;
workers serving that workflow from the store fire it (``docs/durable-primitives.md``).
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stepwork._core.errors import (
    CronSyntaxError,
    ScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
)
from stepwork._server.errors import ApiError, JsonResponse, from_validation
from stepwork._server.inbound import only_params, read_model
from stepwork._server.runs import RunRegistry
from stepwork._server.schemas_schedules import ScheduleRequest
from stepwork._stores.schedule_protocol import (
    Schedule,
    ScheduleRecord,
    ScheduleStore,
    schedule_json,
    schedules_of,
)

__all__ = ["schedule_routes"]


def _registry(request: Request) -> RunRegistry:
    registry: RunRegistry = request.app.state.registry
    return registry


def _schedules(request: Request) -> ScheduleStore:
    return schedules_of(_registry(request).store)


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    return name


def _answer(record: ScheduleRecord, status_code: int = 200) -> Response:
    return JsonResponse(schedule_json(record), status_code=status_code)


async def list_schedules(request: Request) -> Response:
    """``GET /schedules``: every schedule in the store, by name."""
    only_params(request)
    records = await _schedules(request).list()
    return JsonResponse({"schedules": [schedule_json(record) for record in records]})


async def add_schedule(request: Request) -> Response:
    """``POST /schedules``: 201 with the schedule; 409 a taken name; 422 a workflow not served
    here, a bad rule (a cron error names its field), zone or start fields."""
    only_params(request)
    body = await read_model(request, ScheduleRequest)
    served = _registry(request).served
    entry = served.get(body.workflow)
    if entry is None:
        known = ", ".join(sorted(served)) or "none"
        raise ApiError(
            "invalid", f"workflow: no workflow {body.workflow!r} is served here (served: "
            f"{known}).", "workflow",
        )  # fmt: skip
    try:
        entry.workflow.start_event_class(**body.start)
    except ValidationError as error:
        raise from_validation(error, "start") from None
    except ValueError as error:
        raise ApiError("invalid", f"start: {error}", "start") from None
    try:
        schedule = Schedule(
            body.name, entry.journal_name, cron=body.cron, every=body.every,
            start=body.start, tz=body.tz, missed=body.missed,
        )  # fmt: skip
        record = await _schedules(request).add(schedule)
    except ScheduleExistsError as error:
        raise ApiError("conflict", str(error), "name") from None
    except CronSyntaxError as error:
        raise ApiError("invalid", str(error), "cron") from None
    except ScheduleError as error:
        raise ApiError("invalid", str(error), _field_of(str(error))) from None
    return _answer(record, 201)


def _field_of(message: str) -> str | None:
    """The body field a ``Schedule`` error is about (its messages name it)."""
    if "time zone" in message:
        return "tz"
    if "exactly one of" in message:
        return None  # neither or both of cron and every
    return next((f for f in ("every", "start", "missed") if f"{f}=" in message), None)


async def get_schedule(request: Request) -> Response:
    """``GET /schedules/{name}``: the schedule; 404 if there is none."""
    only_params(request)
    return _answer(await _found(request, lambda s, name: s.get(name)))


async def pause_schedule(request: Request) -> Response:
    """``POST /schedules/{name}/pause``: stop firing it; 404 if there is none."""
    only_params(request)
    return _answer(await _found(request, lambda s, name: s.pause(name)))


async def resume_schedule(request: Request) -> Response:
    """``POST /schedules/{name}/resume``: fire it again from the next slot; 404 if none."""
    only_params(request)
    return _answer(await _found(request, lambda s, name: s.resume(name)))


async def delete_schedule(request: Request) -> Response:
    """``DELETE /schedules/{name}``: 204 once it is gone (its runs stay); 404 if there is none."""
    only_params(request)
    name = _name(request)
    if not await _schedules(request).delete(name):
        raise ApiError("not_found", f"No schedule {name!r}.")
    return Response(status_code=204)


async def _found(request: Request, change: object) -> ScheduleRecord:
    name = _name(request)
    try:
        record: ScheduleRecord = await change(_schedules(request), name)  # type: ignore[operator]
    except ScheduleNotFoundError:
        raise ApiError("not_found", f"No schedule {name!r}.") from None
    return record


async def schedules(request: Request) -> Response:
    """``/schedules``: ``GET`` lists, ``POST`` adds (one route, so a 405 names both)."""
    return await (add_schedule if request.method == "POST" else list_schedules)(request)


async def schedule(request: Request) -> Response:
    """``/schedules/{name}``: ``GET`` reads, ``DELETE`` deletes."""
    return await (delete_schedule if request.method == "DELETE" else get_schedule)(request)


def schedule_routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/schedules", schedules, methods=["GET", "POST"]),
        Route("/schedules/{name}", schedule, methods=["GET", "DELETE"]),
        Route("/schedules/{name}/pause", pause_schedule, methods=["POST"]),
        Route("/schedules/{name}/resume", resume_schedule, methods=["POST"]),
    ]
