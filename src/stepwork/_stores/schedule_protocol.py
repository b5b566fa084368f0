"""Schedules in a store: what a schedule is, and what every store keeps of it.

A :class:`Schedule` says when to start which workflow with which start arguments; a store's
:class:`ScheduleStore` (``store.schedules``, reached with :func:`schedules_of`) keeps it with
its progress (a :class:`ScheduleRecord`). Workers fire due slots (``_runtime/schedule_firer``).

Invariants every implementation keeps (``tests/stores/test_schedules.py`` checks them):
- Names are unique; a schedule's ``id`` is new at every ``add``, so a slot claimed for a
  deleted schedule never counts for one added again under its name.
- ``fire`` is one transaction: it moves the schedule's ``cursor`` forward to the slot (only
  forward, only while the schedule exists and is not paused), inserts the slot's row (unique
  per schedule and slot) and creates the slot's run from ``batch``, or does none of it. Two
  processes firing one slot never both create a run: the loser gets ``False``.
- ``pause`` stops firing (``next_at`` is ``None``); ``resume`` starts again from the next slot
  after now: slots that passed while paused are not fired.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stepwork._core.cron import parse_cron
from stepwork._core.errors import (
    ScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    StoreError,
)
from stepwork._core.schedule_slots import (
    MISSED_POLICIES,
    IntervalRule,
    MissedPolicy,
    SlotRule,
    due_slots,
    slot_after,
)
from stepwork._stores.protocol import JournalBatch

__all__ = [
    "SCHEDULE_NAME_PATTERN",
    "SLOTS_KEPT",
    "Schedule",
    "ScheduleRecord",
    "ScheduleStore",
    "fresh_progress",
    "schedule_columns",
    "schedule_exists",
    "schedule_not_found",
    "schedule_from_row",
    "schedule_json",
    "schedules_of",
]

SCHEDULE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
"""What a schedule's name may be: it starts the ids of the runs it starts."""

SLOTS_KEPT = 100
"""How many fired slots a store keeps per schedule (the newest); the cursor guards the rest."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """Start ``workflow`` on a cron expression or every ``every``, exactly once per slot.

    Args:
        name: Unique in the store; the runs it starts are named ``NAME:YYYYMMDDTHHMMSSZ``.
        workflow: The workflow's name (``Workflow.workflow_name``, as workers serve it).
        cron: A five-field cron expression or an ``@daily``-style alias.
        every: Or an interval (at least 1 second), as a ``timedelta`` or seconds.
        start: The start event's fields (JSON values), as ``workflow.run(**start)`` takes.
        tz: The time zone a cron expression reads in (an IANA name such as
            ``"Europe/Paris"``); ignored by intervals.
        missed: What to do with slots that passed while nothing fired them: ``"latest"``
            fires the most recent once, ``"all"`` fires each (the most recent 100 at most),
            ``"skip"`` fires none unless it is at most 60 s late.
        anchor: An interval's grid passes through this time (default: the Unix epoch, so
            ``every=timedelta(hours=1)`` fires on the hour, UTC).

    Raises:
        ScheduleError: If the name, rule, time zone, policy or start arguments are not usable
            (``CronSyntaxError`` for a cron expression, naming the field).

    Example:
        >>> Schedule("nightly", workflow="report", cron="0 3 * * *", tz="Europe/Paris").rule
        CronRule(expression='0 3 * * *', ...)
        >>> Schedule("poll", workflow="fetch", every=30).rule
        IntervalRule(every_ms=30000, anchor_ms=0)
    """

    name: str
    workflow: str
    cron: str | None = None
    every: timedelta | float | None = None
    start: Mapping[str, Any] = field(default_factory=dict)
    tz: str = "UTC"
    missed: MissedPolicy = "latest"
    anchor: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(SCHEDULE_NAME_PATTERN, self.name):
            raise ScheduleError(
                f"Schedule name {self.name!r} must match {SCHEDULE_NAME_PATTERN} (letters, "
                "digits, '.', '_', '-'; it starts the ids of the runs it starts)."
            )
        if not isinstance(self.workflow, str) or not self.workflow:
            raise ScheduleError(f"Schedule {self.name!r} needs a workflow name.")
        if (self.cron is None) == (self.every is None):
            raise ScheduleError(
                f"Schedule {self.name!r} needs exactly one of cron= (e.g. '0 3 * * *') or "
                "every= (e.g. timedelta(minutes=5))."
            )
        if self.missed not in MISSED_POLICIES:
            raise ScheduleError(
                f"Schedule {self.name!r}: missed={self.missed!r} is not one of "
                f"{', '.join(MISSED_POLICIES)}."
            )
        try:
            json.dumps(dict(self.start), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ScheduleError(
                f"Schedule {self.name!r}: start= must be a dict of JSON values ({error})."
            ) from None
        _ = self.rule, self.zone  # validate now, not when a worker first fires it

    @cached_property
    def rule(self) -> SlotRule:
        """The parsed rule (a ``CronRule`` or an ``IntervalRule``)."""
        if self.cron is not None:
            return parse_cron(self.cron)
        every = self.every
        span = every if isinstance(every, timedelta) else timedelta(seconds=float(every or 0))
        every_ms = span // timedelta(milliseconds=1)
        if every_ms < 1000 or span % timedelta(milliseconds=1):
            raise ScheduleError(
                f"Schedule {self.name!r}: every= must be at least 1 second, in whole "
                f"milliseconds; got {span}."
            )
        anchor_ms = 0
        if self.anchor is not None:
            if self.anchor.tzinfo is None:
                raise ScheduleError(f"Schedule {self.name!r}: anchor= needs a time zone.")
            anchor_ms = (self.anchor - _EPOCH) // timedelta(milliseconds=1)
        return IntervalRule(every_ms, anchor_ms)

    @cached_property
    def zone(self) -> tzinfo:
        """The time zone, resolved."""
        if self.tz == "UTC":
            return UTC
        try:
            return ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                f"Schedule {self.name!r}: unknown time zone {self.tz!r}; use an IANA name "
                "such as 'UTC' or 'Europe/Paris'."
            ) from None

    @property
    def every_seconds(self) -> float | None:
        """An interval's period in seconds; ``None`` for a cron rule."""
        rule = self.rule
        return rule.every_ms / 1000 if isinstance(rule, IntervalRule) else None

    def slot_after(self, moment: int) -> int:
        """The first slot strictly after ``moment`` (ms since the epoch)."""
        return slot_after(self.rule, moment, self.zone)

    def due_slots(self, cursor: int, now: int) -> list[int]:
        """The slots to fire at ``now`` after ``cursor``, by the ``missed`` policy."""
        return due_slots(self.rule, cursor, now, self.missed, self.zone)

    def describe(self) -> str:
        """The rule in a few words: the cron expression (with its zone), or ``every 30s``."""
        rule = self.rule
        if isinstance(rule, IntervalRule):
            return f"every {timedelta(milliseconds=rule.every_ms)}"
        return rule.expression if self.tz == "UTC" else f"{rule.expression} ({self.tz})"


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule as a store keeps it, with its progress.

    Attributes:
        schedule: The definition.
        id: New at every ``add`` (slots are claimed under it).
        paused: Whether it is paused.
        created_at: When it was added (seconds since the epoch).
        updated_at: When it last changed (added, fired, paused, resumed).
        cursor: The last slot handled (ms): fired, skipped, or when it was added or resumed.
        next_at: The next slot to fire (ms); ``None`` while paused.
        last_slot: The last slot that started a run (ms), if any.
        last_run: The id of that run.
    """

    schedule: Schedule
    id: str
    paused: bool
    created_at: float
    updated_at: float
    cursor: int
    next_at: int | None
    last_slot: int | None = None
    last_run: str | None = None

    @property
    def name(self) -> str:
        """The schedule's name."""
        return self.schedule.name


@runtime_checkable
class ScheduleStore(Protocol):
    """A store's schedules. All methods but ``watch`` are coroutines."""

    async def add(self, schedule: Schedule) -> ScheduleRecord:
        """Keep ``schedule``; it fires from the first slot after now.

        Raises:
            ScheduleExistsError: If a schedule of that name exists.
        """

    async def get(self, name: str) -> ScheduleRecord:
        """The schedule called ``name``.

        Raises:
            ScheduleNotFoundError: If there is none.
        """

    async def list(self, workflows: Sequence[str] | None = None) -> list[ScheduleRecord]:
        """Every schedule (of ``workflows``, when given), by name."""

    async def pause(self, name: str) -> ScheduleRecord:
        """Stop firing it (no-op if paused).

        Raises:
            ScheduleNotFoundError: If there is none.
        """

    async def resume(self, name: str) -> ScheduleRecord:
        """Fire it again from the first slot after now (no-op if not paused).

        Raises:
            ScheduleNotFoundError: If there is none.
        """

    async def delete(self, name: str) -> bool:
        """Remove it and its slots (its runs stay); ``False`` if there was none."""

    async def due(self, now: int, workflows: Sequence[str]) -> builtins.list[ScheduleRecord]:
        """Unpaused schedules of ``workflows`` whose ``next_at`` is at or before ``now`` (ms)."""

    async def next_due(self, workflows: Sequence[str]) -> int | None:
        """The earliest ``next_at`` among unpaused schedules of ``workflows``."""

    async def fire(
        self, record: ScheduleRecord, slot: int, next_at: int, batch: JournalBatch | None
    ) -> bool:
        """In one transaction: move the cursor to ``slot`` and ``next_at`` on, and, with
        ``batch`` (a batch that creates the slot's run), claim the slot and create the run.
        ``False``, changing nothing, if the schedule is gone, paused, re-added or already past
        ``slot``, or the slot was claimed. A run of that id that exists already (the schedule
        was deleted and added again) is not created twice: the slot still counts as fired."""

    def watch(self, on_change: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """While entered, ``on_change()`` is called when a schedule is added, paused, resumed or
        deleted: from any process on PostgreSQL (NOTIFY), from this store object elsewhere."""


def schedules_of(store: object) -> ScheduleStore:
    """``store``'s schedules.

    Raises:
        StoreError: If the store keeps no schedules (a store class of your own).
    """
    schedules = getattr(store, "schedules", None)
    if not isinstance(schedules, ScheduleStore):
        raise StoreError(
            f"{store!r} keeps no schedules: use SqliteStore, PostgresStore or MemoryStore."
        )
    return schedules


def schedule_from_row(row: Mapping[str, Any] | Sequence[Any]) -> Schedule:
    """A :class:`Schedule` from the columns ``name, workflow, cron, every_ms, anchor_ms, tz,
    start, missed`` (in that order)."""
    name, workflow, cron, every_ms, anchor_ms, tz, start, missed = list(row)[:8]
    anchor = None if not anchor_ms else _EPOCH + timedelta(milliseconds=anchor_ms)
    every = None if every_ms is None else timedelta(milliseconds=every_ms)
    return Schedule(name, workflow, cron, every, json.loads(start), tz, missed, anchor)


def schedule_columns(schedule: Schedule) -> tuple[Any, ...]:
    """The values of ``name, workflow, cron, every_ms, anchor_ms, tz, start, missed``."""
    rule = schedule.rule
    every_ms, anchor_ms = (
        (rule.every_ms, rule.anchor_ms) if isinstance(rule, IntervalRule) else (None, 0)
    )
    start = json.dumps(dict(schedule.start), allow_nan=False, separators=(",", ":"))
    return (schedule.name, schedule.workflow, schedule.cron, every_ms, anchor_ms,
            schedule.tz, start, schedule.missed)  # fmt: skip


def fresh_progress(schedule: Schedule, now: float) -> tuple[int, int]:
    """``(cursor, next_at)`` of a schedule added or resumed at ``now`` (seconds): only slots
    after now fire."""
    cursor = int(now * 1000)
    return cursor, schedule.slot_after(cursor)


def schedule_exists(name: str) -> ScheduleExistsError:
    """The error for adding a second schedule called ``name``."""
    return ScheduleExistsError(
        f"A schedule {name!r} exists already: pick another name, or delete it first."
    )


def schedule_not_found(name: str) -> ScheduleNotFoundError:
    """The error for a schedule called ``name`` that is not there."""
    return ScheduleNotFoundError(f"No schedule {name!r} in this store.")


def schedule_json(record: ScheduleRecord) -> dict[str, Any]:
    """A schedule as JSON: the CLI's ``--json`` lines and the HTTP API's ``ScheduleInfo``."""
    schedule = record.schedule
    return {
        "name": record.name,
        "workflow": schedule.workflow,
        "cron": schedule.cron,
        "every": schedule.every_seconds,
        "tz": schedule.tz,
        "missed": schedule.missed,
        "start": dict(schedule.start),
        "paused": record.paused,
        "next_at": None if record.next_at is None else record.next_at / 1000,
        "last_at": None if record.last_slot is None else record.last_slot / 1000,
        "last_run": record.last_run,
        "created_at": record.created_at,
    }
