"""The ``/schedules`` operations of the OpenAPI document (``openapi.py`` lists them)."""

from __future__ import annotations

from stepwork._server import schemas_schedules as ss
from stepwork._server.openapi_parts import Operation, param

__all__ = ["SCHEDULE_OPERATIONS"]

_SCHEDULE = param("name", "path", {"type": "string"}, "The schedule's name.", required=True)
_NO_SCHEDULE = "No schedule of that name."

SCHEDULE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get", "/schedules", "listSchedules", "The store's schedules.",
        (200, ss.ScheduleList, "Every schedule, by name."),
        "Every schedule kept in the store, whichever workflows this server serves, with its "
        "next slot, its last run and whether it is paused.",
    ),
    Operation(
        "post", "/schedules", "addSchedule", "Add a schedule.",
        (201, ss.ScheduleInfo, "The schedule; it fires from its first slot after now."),
        "Workers serving the workflow fire each slot exactly once across the fleet, starting "
        "a run named `NAME:YYYYMMDDTHHMMSSZ`. 409 when the name is taken; 422 for a workflow "
        "not served here (`field` is `workflow`), a cron expression that does not parse (the "
        "message names the cron field: minute, hour, day of month, month or day of week), "
        "neither or both of `cron` and `every`, an unknown `tz`, or `start` fields the "
        "workflow's start event refuses.",
        (409, 422, 503), ss.ScheduleRequest,
        error_text={409: "A schedule of that name exists already.",
                    422: "The body does not validate; `field` names the culprit."},
    ),
    Operation(
        "get", "/schedules/{name}", "getSchedule", "One schedule.",
        (200, ss.ScheduleInfo, "The schedule."),
        "The schedule and its progress.",
        (404,), parameters=(_SCHEDULE,), error_text={404: _NO_SCHEDULE},
    ),
    Operation(
        "delete", "/schedules/{name}", "deleteSchedule", "Delete a schedule.",
        (204, None, "Deleted; the runs it started stay."),
        "Removes the schedule; nothing fires it any more.",
        (404, 503), parameters=(_SCHEDULE,), error_text={404: _NO_SCHEDULE},
    ),
    Operation(
        "post", "/schedules/{name}/pause", "pauseSchedule", "Pause a schedule.",
        (200, ss.ScheduleInfo, "The schedule, paused."),
        "No slot fires while it is paused, and those that pass are not caught up when it is "
        "resumed. Pausing a paused schedule changes nothing.",
        (404, 503), parameters=(_SCHEDULE,), error_text={404: _NO_SCHEDULE},
    ),
    Operation(
        "post", "/schedules/{name}/resume", "resumeSchedule", "Resume a schedule.",
        (200, ss.ScheduleInfo, "The schedule, firing again from its next slot after now."),
        "Resuming a schedule that is not paused changes nothing.",
        (404, 503), parameters=(_SCHEDULE,), error_text={404: _NO_SCHEDULE},
    ),
)  # fmt: skip
"""The ``/schedules`` operations."""
