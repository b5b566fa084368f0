"""Cron expressions and schedule slots: parsing, errors that name the field, next/previous
times checked against a minute-by-minute reference (DST zones included), interval grids and
the missed-slot policies."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepwork._core.cron import CronRule, next_time, parse_cron, previous_time
from stepwork._core.errors import CronSyntaxError, ScheduleError
from stepwork._core.schedule_slots import (
    SKIP_GRACE_MS,
    IntervalRule,
    due_slots,
    slot_after,
    slot_at_or_before,
    slot_datetime,
    slot_run_id,
)

NEW_YORK = ZoneInfo("America/New_York")
ZONES = [UTC, NEW_YORK, ZoneInfo("Europe/Paris"), ZoneInfo("Australia/Lord_Howe")]


def at(*parts: int, tz: object = UTC) -> datetime:
    return datetime(*parts, tzinfo=tz)  # type: ignore[arg-type, misc]


@pytest.mark.parametrize(
    ("expression", "field", "words"),
    [
        ("* * * *", None, "has 4 fields"),
        ("* * * * * *", None, "has 6 fields"),
        ("60 * * * *", "minute", "out of range: minute takes 0-59"),
        ("* 24 * * *", "hour", "hour takes 0-23"),
        ("* * 0 * *", "day of month", "day of month takes 1-31"),
        ("* * * 13 *", "month", "month takes 1-12 or JAN-DEC"),
        ("* * * * 8", "day of week", "day of week takes 0-7 or SUN-SAT"),
        ("* * * FOO *", "month", "'FOO' is not a number"),
        ("5-1 * * * *", "minute", "runs backwards"),
        ("*/0 * * * *", "minute", "bad step"),
        ("*/x * * * *", "minute", "bad step"),
        ("1,,2 * * * *", "minute", "is empty"),
        ("0 0 30 FEB *", "day of month", "never matches"),
        ("0 0 31 4,6,9,11 *", "day of month", "never matches"),
        ("@reboot", None, "Unknown cron alias"),
    ],
)
def test_bad_expressions_name_their_field(expression: str, field: str | None, words: str) -> None:
    with pytest.raises(CronSyntaxError, match=words) as caught:
        parse_cron(expression)
    assert caught.value.field == field
    assert caught.value.expression == expression
    assert isinstance(caught.value, ScheduleError) and isinstance(caught.value, ValueError)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.field, str(copy)) == (field, str(caught.value))


def test_fields_lists_ranges_steps_and_names() -> None:
    rule = parse_cron("0,30 9-17/4 1-7 jan-Mar,DEC mon-FRI")
    assert rule.minutes == (0, 30)
    assert rule.hours == (9, 13, 17)
    assert rule.days == frozenset(range(1, 8))
    assert rule.months == {1, 2, 3, 12}
    assert rule.weekdays == {1, 2, 3, 4, 5}
    assert rule.either_day
    assert parse_cron("5/20 * * * 7").minutes == (5, 25, 45)
    assert parse_cron("* * * * 7").weekdays == {0}  # 7 is Sunday too
    assert not parse_cron("0 0 */2 * MON").either_day  # a starred field: both must match


@pytest.mark.parametrize(
    ("alias", "same"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@MIDNIGHT", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
    ],
)
def test_aliases(alias: str, same: str) -> None:
    ours, theirs = parse_cron(alias), parse_cron(same)
    assert (ours.minutes, ours.hours, ours.days, ours.months, ours.weekdays) == (
        theirs.minutes, theirs.hours, theirs.days, theirs.months, theirs.weekdays,
    )  # fmt: skip


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    rule = parse_cron("0 9 13 * FRI")  # every 13th and every Friday
    fired = [next_time(rule, at(2026, 2, 1), UTC)]
    for _ in range(4):
        fired.append(next_time(rule, fired[-1], UTC))
    assert [moment.day for moment in fired] == [6, 13, 20, 27, 6]


def test_leap_day_only_comes_back_within_years() -> None:
    rule = parse_cron("0 0 29 2 *")
    assert next_time(rule, at(2025, 1, 1), UTC) == at(2028, 2, 29)
    assert previous_time(rule, at(2027, 1, 1), UTC) == at(2024, 2, 29)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_time(parse_cron("* * * * *"), datetime(2026, 1, 1), UTC)


def test_spring_forward_fires_skipped_times_when_the_clock_lands() -> None:
    # New York, 2026-03-08: 02:00 EST becomes 03:00 EDT.
    rule = parse_cron("30 2 * * *")
    fired = next_time(rule, at(2026, 3, 7, 12), NEW_YORK)
    assert fired.astimezone(NEW_YORK) == at(2026, 3, 8, 3, 0, tz=NEW_YORK)
    assert next_time(rule, fired, NEW_YORK).astimezone(NEW_YORK) == at(
        2026, 3, 9, 2, 30, tz=NEW_YORK
    )
    assert _hourly_in_a_day(at(2026, 3, 8, 5), at(2026, 3, 9, 4)) == 23  # 02:00 lands as 03:00


def test_fall_back_fires_repeated_times_once_at_their_first_occurrence() -> None:
    # New York, 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    rule = parse_cron("30 1 * * *")
    fired = next_time(rule, at(2026, 10, 31, 12), NEW_YORK)
    assert fired == at(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_time(rule, fired, NEW_YORK) == at(2026, 11, 2, 6, 30)  # not 01:30 EST
    assert _hourly_in_a_day(at(2026, 11, 1, 4), at(2026, 11, 2, 5)) == 24  # 25 real hours


def _hourly_in_a_day(midnight: datetime, next_midnight: datetime) -> int:
    """How often ``0 * * * *`` fires in New York from one midnight (UTC instants) to the next."""
    hourly, fired = parse_cron("0 * * * *"), [midnight]
    while (moment := next_time(hourly, fired[-1], NEW_YORK)) < next_midnight:
        fired.append(moment)
    return len(fired)


def _reference_next(rule: CronRule, after: datetime, tz: ZoneInfo) -> datetime:
    """Minute by minute: an instant fires if its wall time matches at its first occurrence,
    or if the clock just jumped over a matching wall time."""
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    previous = (moment - timedelta(minutes=1)).astimezone(tz)
    while True:
        local = moment.astimezone(tz)
        wall = local.replace(tzinfo=None)
        if local.fold == 0 and _wall_matches(rule, wall):
            return moment
        skipped = wall - (previous.replace(tzinfo=None) + timedelta(minutes=1))
        if skipped > timedelta(0):
            step = previous.replace(tzinfo=None) + timedelta(minutes=1)
            while step < wall:
                if _wall_matches(rule, step):
                    return moment
                step += timedelta(minutes=1)
        previous, moment = local, moment + timedelta(minutes=1)


def _wall_matches(rule: CronRule, wall: datetime) -> bool:
    return wall.minute in rule.minutes and wall.hour in rule.hours and rule.matches_day(wall.date())


@settings(max_examples=60, deadline=None)
@given(
    minute=st.sampled_from(["*/13", "0", "30", "0,45", "59"]),
    hour=st.sampled_from(["*", "1", "2", "0-3", "*/5", "23"]),
    day=st.sampled_from(["*", "1", "13", "28-31", "*/10"]),
    month=st.sampled_from(["*", "3", "10,11", "MAR-APR"]),
    weekday=st.sampled_from(["*", "SUN", "MON-FRI", "6"]),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
)
def test_next_and_previous_agree_with_a_minute_by_minute_reference(
    minute: str, hour: str, day: str, month: str, weekday: str, zone: ZoneInfo, start: datetime
) -> None:
    rule = parse_cron(f"{minute} {hour} {day} {month} {weekday}")
    after = start.replace(tzinfo=UTC)
    found = next_time(rule, after, zone)
    if found - after < timedelta(days=3):  # the reference walks minutes: keep it short
        assert found == _reference_next(rule, after, zone)
    assert found > after
    assert previous_time(rule, found, zone) == found
    assert previous_time(rule, found - timedelta(seconds=1), zone) < after + timedelta(seconds=1)


@given(
    every=st.integers(1000, 10**8),
    anchor=st.integers(-(10**12), 10**12),
    moment=st.integers(0, 4 * 10**12),
)
def test_interval_slots_lie_on_the_anchor_grid(every: int, anchor: int, moment: int) -> None:
    rule = IntervalRule(every, anchor)
    after = slot_after(rule, moment, UTC)
    before = slot_at_or_before(rule, moment, UTC)
    assert (after - anchor) % every == 0 and (before - anchor) % every == 0
    assert before <= moment < after == before + every


def test_intervals_under_a_second_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        IntervalRule(999)


def test_missed_policies() -> None:
    rule = IntervalRule(every_ms=1000)
    assert due_slots(rule, 0, 5_500, "latest", UTC) == [5000]
    assert due_slots(rule, 0, 5_500, "all", UTC) == [1000, 2000, 3000, 4000, 5000]
    assert due_slots(rule, 0, 5_500, "all", UTC, limit=2) == [4000, 5000]  # the most recent
    assert due_slots(rule, 0, 5_500, "skip", UTC) == [5000]  # on time
    late = 5000 + SKIP_GRACE_MS + 1
    assert due_slots(IntervalRule(3_600_000), 0, 3_600_000 + SKIP_GRACE_MS + 1, "skip", UTC) == []
    assert due_slots(rule, 0, late, "skip", UTC) == [late // 1000 * 1000]
    for policy in ("latest", "all", "skip"):
        assert due_slots(rule, 5000, 5_999, policy, UTC) == []  # nothing after the cursor yet
        assert due_slots(rule, 5000, 4_000, policy, UTC) == []
    cron = parse_cron("0 3 * * *")
    day = 86_400_000
    assert due_slots(cron, 0, 3 * day + 4 * 3_600_000, "all", UTC) == [
        3 * 3_600_000, day + 3 * 3_600_000, 2 * day + 3 * 3_600_000, 3 * day + 3 * 3_600_000,
    ]  # fmt: skip


def test_run_ids_name_the_schedule_and_the_slot() -> None:
    slot = (at(2026, 12, 7, 3) - at(1970, 1, 1)) // timedelta(milliseconds=1)
    assert slot_run_id("nightly", slot) == "nightly:20261207T030000Z"
    assert slot_run_id("fast", slot + 250) == "fast:20261207T030000.250Z"
    assert slot_datetime(slot) == at(2026, 12, 7, 3)
