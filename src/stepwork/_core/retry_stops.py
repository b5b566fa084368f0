"""Stop conditions: when to give up retrying a failed step.

A stop condition is called with the number of failed attempts so far (1 after the first failure),
the seconds elapsed since the first attempt started, and the delay the wait strategy proposes for
the next retry (``upcoming_sleep``). Returning ``True`` gives up. Conditions compose with ``|``
(either) and ``&`` (both).

Invariants:
    * Stop conditions are pure functions of their three numbers; the clock reading arrives as
      ``elapsed_time``, never fetched here.
    * Class names are lower-case because LlamaIndex Workflows code spells them that way.
"""

from __future__ import annotations

from typing import Protocol

from stepwork._core.retry_waits import time_unit_type, to_seconds

__all__ = [
    "StopCondition",
    "StopConditionBase",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
]


class StopCondition(Protocol):
    """Anything that decides from attempts and elapsed time whether to stop retrying."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return ``True`` to give up."""
        ...


class StopConditionBase:
    """Shared ``|`` / ``&`` composition for the built-in stop conditions."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return ``True`` to give up."""
        raise NotImplementedError

    def __or__(self, other: StopCondition) -> stop_any:
        if not callable(other):
            return NotImplemented
        return stop_any(self, other)

    def __ror__(self, other: StopCondition) -> stop_any:
        if not callable(other):
            return NotImplemented
        return stop_any(other, self)

    def __and__(self, other: StopCondition) -> stop_all:
        if not callable(other):
            return NotImplemented
        return stop_all(self, other)

    def __rand__(self, other: StopCondition) -> stop_all:
        if not callable(other):
            return NotImplemented
        return stop_all(other, self)


class stop_never(StopConditionBase):
    """Retry forever (as far as this condition is concerned)."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return ``False``."""
        return False


class stop_after_attempt(StopConditionBase):
    """Stop once ``max_attempt_number`` attempts have failed: that many executions in total.

    Args:
        max_attempt_number: How many times the step may run, the first run included.
    """

    def __init__(self, max_attempt_number: int) -> None:
        self.max_attempt_number = max_attempt_number

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return whether the attempt budget is spent."""
        return attempts >= self.max_attempt_number


class stop_after_delay(StopConditionBase):
    """Stop once ``max_delay`` has elapsed since the first attempt started.

    Args:
        max_delay: The time budget, in seconds or as a ``timedelta``.
    """

    def __init__(self, max_delay: time_unit_type) -> None:
        self.max_delay = to_seconds(max_delay)

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return whether the time budget is spent."""
        return elapsed_time >= self.max_delay


class stop_before_delay(StopConditionBase):
    """Stop when sleeping before the next retry would reach ``max_delay``.

    Unlike :class:`stop_after_delay` this counts the upcoming sleep, so no retry starts after
    the budget.

    Args:
        max_delay: The time budget, in seconds or as a ``timedelta``.
    """

    def __init__(self, max_delay: time_unit_type) -> None:
        self.max_delay = to_seconds(max_delay)

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return whether the next retry would start at or past the budget."""
        return elapsed_time + upcoming_sleep >= self.max_delay


class stop_any(StopConditionBase):
    """Stop when any condition says so (what ``a | b`` builds); none means never.

    Args:
        *stops: The conditions to consult.
    """

    def __init__(self, *stops: StopCondition) -> None:
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return whether any condition holds."""
        return any(
            stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops
        )


class stop_all(StopConditionBase):
    """Stop when every condition says so (what ``a & b`` builds); none means stop.

    Args:
        *stops: The conditions to consult.
    """

    def __init__(self, *stops: StopCondition) -> None:
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        """Return whether all conditions hold."""
        return all(
            stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops
        )
