"""Schedule slots: the instants a schedule fires at, which of them are due, and their run ids.

Pure: no clock, no I/O. A *slot* is an instant as whole milliseconds since the Unix epoch
(UTC), so every process computes the same slots and a store can keep them as unique integers.

Invariants:
- Slots are strictly increasing; ``slot_after(rule, t)`` is the first one ``> t``.
- An interval's slots are ``anchor + k * every`` for whole ``k``: the same in every process
  whenever it starts, and never shifted by when the schedule was added or last fired.
- A cron rule's slots are its wall times in its time zone (see ``_core/cron.py`` for DST).
- ``due_slots`` decides the missed-slot policy from the cursor (the last slot handled) and
  now alone, so racing processes that see the same store agree on it.

Example:
    >>> from datetime import UTC
    >>> every_minute = IntervalRule(every_ms=60_000)
    >>> slot_after(every_minute, 90_000, UTC)
    120000
    >>> due_slots(every_minute, 0, 185_000, "all", UTC)
    [60000, 120000, 180000]
    >>> slot_run_id("nightly", 1_796_612_400_000)
    'nightly:20261207T030000Z'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal, assert_never

from stepwork._core.cron import CronRule, next_time, previous_time

__all__ = [
    "CATCH_UP_LIMIT",
    "MISSED_POLICIES",
    "SKIP_GRACE_MS",
    "IntervalRule",
    "MissedPolicy",
    "SlotRule",
    "due_slots",
    "slot_after",
    "slot_at_or_before",
    "slot_datetime",
    "slot_run_id",
]

MissedPolicy = Literal["latest", "all", "skip"]
"""What a schedule does with slots that passed while nothing fired them."""

MISSED_POLICIES: tuple[MissedPolicy, ...] = ("latest", "all", "skip")

CATCH_UP_LIMIT = 100
"""``missed="all"`` fires at most this many slots at once: the most recent ones."""

SKIP_GRACE_MS = 60_000
"""``missed="skip"``: a slot fired up to this late (ms) is on time; a later one is skipped."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class IntervalRule:
    """Every ``every_ms`` milliseconds, on the grid ``anchor_ms + k * every_ms``.

    Attributes:
        every_ms: The period, in milliseconds (at least 1,000).
        anchor_ms: One slot of the grid (default: the Unix epoch, so ``every=1h`` fires on
            the hour, UTC).
    """

    every_ms: int
    anchor_ms: int = 0

    def __post_init__(self) -> None:
        if self.every_ms < 1000:
            raise ValueError(f"An interval must be at least 1 second, got {self.every_ms} ms.")


SlotRule = CronRule | IntervalRule
"""Either kind of rule."""


def slot_datetime(slot: int) -> datetime:
    """A slot as an aware UTC datetime."""
    return _EPOCH + slot * _MS


def _to_slot(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def slot_after(rule: SlotRule, after: int, tz: tzinfo) -> int:
    """The first slot strictly after ``after`` (ms); ``tz`` is a cron rule's time zone."""
    match rule:
        case IntervalRule(every_ms=every, anchor_ms=anchor):
            return anchor + ((after - anchor) // every + 1) * every
        case CronRule():
            return _to_slot(next_time(rule, slot_datetime(after), tz))
        case _:  # pragma: no cover
            assert_never(rule)


def slot_at_or_before(rule: SlotRule, at: int, tz: tzinfo) -> int:
    """The last slot at or before ``at`` (ms)."""
    match rule:
        case IntervalRule(every_ms=every, anchor_ms=anchor):
            return anchor + ((at - anchor) // every) * every
        case CronRule():
            return _to_slot(previous_time(rule, slot_datetime(at), tz))
        case _:  # pragma: no cover
            assert_never(rule)


def due_slots(
    rule: SlotRule,
    cursor: int,
    now: int,
    missed: MissedPolicy,
    tz: tzinfo,
    *,
    limit: int = CATCH_UP_LIMIT,
) -> list[int]:
    """The slots to fire now, oldest first: slots in ``(cursor, now]`` as ``missed`` says.

    - ``latest``: the most recent one (earlier ones, missed, are dropped);
    - ``all``: every one, but at most ``limit``, the most recent;
    - ``skip``: the most recent one if it is at most ``SKIP_GRACE_MS`` late, else none.

    Args:
        rule: The schedule's rule.
        cursor: The last slot already handled (fired or skipped), or when the schedule was
            added or resumed: only slots after it are due.
        now: The time now (ms).
        missed: The policy.
        tz: A cron rule's time zone.
        limit: The most slots ``all`` returns.
    """
    if now <= cursor:
        return []
    latest = slot_at_or_before(rule, now, tz)
    if latest <= cursor:
        return []
    match missed:
        case "latest":
            return [latest]
        case "skip":
            return [latest] if now - latest <= SKIP_GRACE_MS else []
        case "all":
            found = [latest]
            while len(found) < limit:
                earlier = slot_at_or_before(rule, found[-1] - 1, tz)
                if earlier <= cursor:
                    break
                found.append(earlier)
            return found[::-1]
        case _:  # pragma: no cover
            assert_never(missed)


def slot_run_id(schedule: str, slot: int) -> str:
    """The id of the run a schedule starts for a slot: the schedule's name and the slot's UTC
    time (with milliseconds only when it has some), e.g. ``nightly:20261207T030000Z``."""
    moment = slot_datetime(slot)
    stamp = moment.strftime("%Y%m%dT%H%M%S")
    if moment.microsecond:
        stamp += f".{moment.microsecond // 1000:03d}"
    return f"{schedule}:{stamp}Z"
