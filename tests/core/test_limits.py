"""The pure rules of named limits: fair grants, the per_minute window, retry-after delays."""

from __future__ import annotations

import pickle
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepwork import RetryAfter
from stepwork._core.limits import Limit, Waiter, grant, retry_after_delay, retry_after_of


def waiters(*runs: str) -> list[Waiter]:
    return [Waiter(f"{run}{i}", run, i) for i, run in enumerate(runs)]


@pytest.mark.parametrize(
    ("queue", "held", "served", "expected"),
    [
        # A run holding nothing goes before a run's further calls, whoever queued first.
        ("aaab", [], {}, ("a0", "b3")),
        ("aaab", ["a"], {}, ("b3", "a0")),
        # Equal places: the run served least recently first, then arrival.
        ("aaab", [], {"b": 5.0}, ("a0", "b3")),
        ("ab", [], {"a": 5.0}, ("b1", "a0")),
        ("abab", [], {}, ("a0", "b1")),
    ],
)
def test_grants_are_round_robin_by_run(
    queue: str, held: list[str], served: dict[str, float], expected: tuple[str, ...]
) -> None:
    limit = Limit(concurrency=2 + len(held))
    assert grant(limit, waiters(*queue), held, [], 10.0, served).granted == expected


@given(
    st.lists(st.sampled_from("abc"), max_size=12),
    st.lists(st.sampled_from("abc"), max_size=4),
    st.integers(1, 6),
)
def test_grants_never_exceed_the_free_slots(queue: list[str], held: list[str], cap: int) -> None:
    decided = grant(Limit(concurrency=cap), waiters(*queue), held, [], now=0.0)
    assert len(decided.granted) == max(0, min(len(queue), cap - len(held)))
    assert len(set(decided.granted)) == len(decided.granted)


@given(st.lists(st.floats(0, 200), max_size=20), st.integers(1, 5), st.floats(0, 300))
def test_per_minute_never_allows_more_in_the_window(
    history: list[float], per_minute: int, now: float
) -> None:
    history = [at for at in history if at <= now]
    starts = list(history)
    decided = grant(Limit(per_minute=per_minute), waiters(*"x" * 10), [], starts, now)
    recent = sum(1 for at in history if at + 60 > now)  # the window, as grant() reckons it
    assert len(decided.granted) == max(0, min(10, per_minute - recent))
    if len(decided.granted) < 10:
        assert decided.retry_at is not None and decided.retry_at > now
        # At retry_at one more start fits the window.
        later = [*starts, *[now] * len(decided.granted)]
        again = grant(Limit(per_minute=per_minute), waiters("y"), [], later, decided.retry_at)
        assert again.granted == ("y0",)


def test_retry_after_is_read_from_errors_and_http_429_responses() -> None:
    class Response:
        headers: ClassVar[dict[str, str]] = {"retry-after": "7"}

    class HTTPStatusError(Exception):
        response = Response()

    assert retry_after_of(RetryAfter(2.5)) == 2.5
    assert retry_after_of(HTTPStatusError()) == 7.0
    assert retry_after_of(ValueError("no")) is None


def test_retry_after_delay_is_at_least_asked_plus_jitter() -> None:
    assert retry_after_delay(1.0, 30.0, jitter=5.0, draw=0.0) == 30.0
    assert retry_after_delay(40.0, 30.0, jitter=5.0, draw=0.5) == 42.5


def test_retry_after_round_trips_through_pickle() -> None:
    error = pickle.loads(pickle.dumps(RetryAfter(3, "busy", jitter=1)))
    assert (error.retry_after, error.reason, error.jitter) == (3.0, "busy", 1.0)
    with pytest.raises(ValueError, match="seconds >= 0"):
        RetryAfter(-1)
