"""The request and response bodies of the ``/schedules`` routes (``docs/http-api.md``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from stepwork._stores.schedule_protocol import SCHEDULE_NAME_PATTERN

__all__ = ["ScheduleInfo", "ScheduleList", "ScheduleRequest"]


class ScheduleRequest(BaseModel):
    """Body of `POST /schedules`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(
        pattern=SCHEDULE_NAME_PATTERN,
        description="Unique in the store; its runs are named `NAME:YYYYMMDDTHHMMSSZ`.",
    )
    workflow: str = Field(description="The served name of the workflow to start.")
    cron: str | None = Field(
        default=None,
        description="A five-field cron expression (`0 3 * * *`) or an alias (`@daily`); "
        "give this or `every`.",
    )
    every: float | None = Field(default=None, description="Or an interval in seconds (at least 1).")
    start: dict[str, Any] = Field(
        default_factory=dict, description="The start event's fields, validated by it."
    )
    tz: str = Field(default="UTC", description="The IANA time zone a cron expression reads in.")
    missed: Literal["latest", "all", "skip"] = Field(
        default="latest",
        description="Slots missed while nothing fired them: `latest` fires the most recent "
        "once, `all` each (the most recent 100 at most), `skip` none more than 60 s late.",
    )


class ScheduleInfo(BaseModel):
    """A schedule and its progress."""

    name: str = Field(description="The schedule's name.")
    workflow: str = Field(description="The workflow it starts (the name workers serve it by).")
    cron: str | None = Field(description="Its cron expression, or null for an interval.")
    every: float | None = Field(description="Its interval in seconds, or null for cron.")
    tz: str = Field(description="The time zone its cron expression reads in.")
    missed: str = Field(description="Its missed-slot policy.")
    start: dict[str, Any] = Field(description="The start event's fields.")
    paused: bool = Field(description="Whether it is paused.")
    next_at: float | None = Field(description="Its next slot (seconds since the epoch); null "
                                  "while paused.")  # fmt: skip
    last_at: float | None = Field(description="The last slot that started a run, if any.")
    last_run: str | None = Field(description="The id of that run.")
    created_at: float = Field(description="When it was added, in seconds since the epoch.")


class ScheduleList(BaseModel):
    """Body of `GET /schedules`."""

    schedules: list[ScheduleInfo] = Field(description="Every schedule in the store, by name.")
