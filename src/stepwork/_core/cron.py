"""Cron expressions: five fields parsed into sets, and the next or previous matching time.

Pure: no clock, no I/O. Time zones arrive as ``tzinfo`` objects; callers resolve names (with
``zoneinfo``) outside ``_core``.

Grammar (Vixie cron's five fields, no seconds or years)::

    minute hour day-of-month month day-of-week
    minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC,
    day of week 0-7 or SUN-SAT (0 and 7 are both Sunday)

A field is a comma list of items; an item is ``*``, ``N`` or ``N-M``, optionally followed by
``/STEP`` (``N/STEP`` runs from N to the field's end). Names are case-insensitive and work in
ranges (``MON-FRI``). Aliases: ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``,
``@daily`` (``@midnight``), ``@hourly``.

Invariants:
- When both day fields are restricted (neither starts with ``*``), a day matches if either
  matches, as in Vixie cron (``0 9 1 * MON``: the 1st and every Monday); otherwise both must.
- An expression that can never match (``0 0 30 FEB *``) is refused when parsed, so the search
  for a next time always ends (at the latest within 8 years: a 29th of February).
- Wall times map to instants monotonically (never backwards), by two rules for the days the
  clock changes (DST):
  * a time the clock skips (02:30 when clocks jump from 02:00 to 03:00) fires when the clock
    lands, at the first instant after the gap (03:00 new time), as cron does;
  * a time the clock shows twice (01:30 when clocks fall back from 02:00 to 01:00) fires once,
    at its first occurrence. An hourly expression therefore fires 23 times on the day clocks
    spring forward and 24 times on the day they fall back (not 25).

Example:
    >>> from datetime import UTC, datetime
    >>> rule = parse_cron("*/15 9-17 * * MON-FRI")
    >>> next_time(rule, datetime(2026, 12, 5, 12, 0, tzinfo=UTC), UTC)  # a Saturday
    datetime.datetime(2026, 12, 7, 9, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from stepwork._core.errors import CronSyntaxError

__all__ = ["ALIASES", "FIELDS", "CronRule", "next_time", "parse_cron", "previous_time"]

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The ``@`` aliases and the expressions they stand for."""

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
"""The fields' names, in order, as errors name them."""

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {name: number for number, name in enumerate(_MONTHS, 1)},
    {name: number for number, name in enumerate(_DAYS)},
)
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SEARCH_DAYS = 366 * 8 + 2  # a 29th of February comes back within 8 years
_MARGIN = timedelta(hours=3)  # more than any DST shift, for where a day's search may start


@dataclass(frozen=True)
class CronRule:
    """A parsed cron expression: the values each field allows.

    Attributes:
        expression: The expression as given (an alias stays an alias).
        minutes: Minutes 0-59.
        hours: Hours 0-23.
        days: Days of the month 1-31.
        months: Months 1-12.
        weekdays: Days of the week, 0 (Sunday) to 6.
        either_day: Both day fields are restricted, so a day matches if either does.
    """

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    either_day: bool

    def matches_day(self, day: date) -> bool:
        """Whether ``day`` is one the rule fires on (at its hours and minutes)."""
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        return (by_date or by_weekday) if self.either_day else (by_date and by_weekday)


def parse_cron(expression: str) -> CronRule:
    """Parse a five-field cron expression or an ``@`` alias.

    Raises:
        CronSyntaxError: If the expression is malformed or can never match; its ``field``
            names the field at fault (``None`` when the count of fields is wrong).

    Example:
        >>> parse_cron("0 12 * JAN-MAR MON").months
        frozenset({1, 2, 3})
        >>> parse_cron("61 * * * *")
        Traceback (most recent call last):
        ...
        stepwork.errors.CronSyntaxError: Cron expression '61 * * * *': the minute field \
'61' is out of range: minute takes 0-59.
    """
    text = expression.strip()
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise CronSyntaxError(
                f"Unknown cron alias {text!r}: use one of {', '.join(sorted(ALIASES))}, or "
                "five fields (minute hour day-of-month month day-of-week).",
                expression=expression,
            )
        text = ALIASES[text.lower()]
    parts = text.split()
    if len(parts) != len(FIELDS):
        raise CronSyntaxError(
            f"Cron expression {expression!r} has {len(parts)} fields; it needs 5: minute hour "
            "day-of-month month day-of-week (e.g. '30 2 * * *' for 02:30 every day).",
            expression=expression,
        )
    values = [_parse_field(expression, index, part) for index, part in enumerate(parts)]
    weekdays = frozenset(day % 7 for day in values[4])
    rule = CronRule(
        expression=expression,
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=weekdays,
        either_day=not parts[2].startswith("*") and not parts[4].startswith("*"),
    )
    if not rule.either_day and parts[4].startswith("*") and not _some_date(rule):
        raise CronSyntaxError(
            f"Cron expression {expression!r} never matches: no month it names has a day "
            f"{parts[2]!r} (fix the day of month or the month field).",
            field="day of month",
            expression=expression,
        )
    return rule


def _some_date(rule: CronRule) -> bool:
    return any(day <= _LONGEST_MONTH[month - 1] for month in rule.months for day in rule.days)


def _parse_field(expression: str, index: int, text: str) -> set[int]:
    name = FIELDS[index]
    low, high = _BOUNDS[index]
    found: set[int] = set()
    for item in text.split(","):

        def wrong(why: str, item: str = item) -> CronSyntaxError:
            return CronSyntaxError(
                f"Cron expression {expression!r}: the {name} field {item!r} {why}",
                field=name,
                expression=expression,
            )

        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise wrong("has a bad step: write '/N' with N a whole number of at least 1.")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first, last = _value(start, index, wrong), _value(end, index, wrong)
            if first > last:
                raise wrong(f"runs backwards: write the smaller end first ({last}-{first}).")
        else:
            first = _value(base, index, wrong)
            last = high if slash else first
        found.update(range(first, last + 1, step))
    return found


def _value(text: str, index: int, wrong: Callable[[str], CronSyntaxError]) -> int:
    low, high = _BOUNDS[index]
    named = _NAMES[index].get(text.upper())
    if named is not None:
        return named
    takes = f"{FIELDS[index]} takes {low}-{high}" + {3: " or JAN-DEC", 4: " or SUN-SAT"}.get(
        index, ""
    )
    if not text.isdigit():
        if not text:
            raise wrong("is empty: write a number, a range or '*'.")
        raise wrong(f"is not a number: {takes}.")
    number = int(text)
    if not low <= number <= high:
        raise wrong(f"is out of range: {takes}.")
    return number


def next_time(rule: CronRule, after: datetime, tz: tzinfo) -> datetime:
    """The first instant strictly after ``after`` at which ``rule`` fires in ``tz`` (UTC).

    Raises:
        ValueError: If ``after`` is naive (it must carry a time zone).
    """
    _check_aware(after)
    start = (after.astimezone(tz).replace(tzinfo=None) - _MARGIN).replace(second=0, microsecond=0)
    for wall in _walls(rule, start, forward=True):
        instant = _instant(wall, tz)
        if instant > after:
            return instant
    raise AssertionError(f"no time for {rule.expression!r}")  # pragma: no cover - parse checks


def previous_time(rule: CronRule, at_or_before: datetime, tz: tzinfo) -> datetime:
    """The last instant at or before ``at_or_before`` at which ``rule`` fires in ``tz`` (UTC).

    Raises:
        ValueError: If ``at_or_before`` is naive.
    """
    _check_aware(at_or_before)
    start = at_or_before.astimezone(tz).replace(tzinfo=None) + _MARGIN
    for wall in _walls(rule, start, forward=False):
        instant = _instant(wall, tz)
        if instant <= at_or_before:
            return instant
    raise AssertionError(f"no time for {rule.expression!r}")  # pragma: no cover - parse checks


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive: pass a datetime with a time zone (e.g. UTC).")


def _walls(rule: CronRule, start: datetime, *, forward: bool) -> Iterator[datetime]:
    """Matching wall times from ``start`` on (``forward``) or back, in order."""
    step = timedelta(days=1 if forward else -1)
    day = start.date()
    for _ in range(_SEARCH_DAYS):
        if rule.matches_day(day):
            hours = rule.hours if forward else rule.hours[::-1]
            minutes = rule.minutes if forward else rule.minutes[::-1]
            for hour in hours:
                for minute in minutes:
                    wall = datetime.combine(day, time(hour, minute))
                    if (wall >= start) if forward else (wall <= start):
                        yield wall
        day += step


def _instant(wall: datetime, tz: tzinfo) -> datetime:
    """The instant wall time ``wall`` in ``tz`` stands for: its first occurrence, or the end
    of the gap it falls in."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=1 reads it with the offset after the change (an instant before the gap),
    # fold=0 with the offset before (an instant after it). The clock lands in between.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    landed = high.astimezone(tz).utcoffset()
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).utcoffset() == landed:
            high = middle
        else:
            low = middle
    return high
