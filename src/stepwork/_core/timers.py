"""Timer kinds: the wake-ups the reducer schedules, as a closed union.

Invariants:
- A timer is stored in ``RunState.timers`` under its id (:func:`timer_id`), the string a
  ``TickTimer`` carries back when it fires. Ids are journaled, so their spelling is fixed:
  ``run``, ``retry:<number>``, ``wait:<waiter key>`` and ``step:<invocation>``.
- ``at`` is the only field that changes after a timer is made: a resumed run shifts the timers
  that count working time (:func:`counts_working_time`: the run timeout, retry delays, step
  time limits) by the time it was down. Wait timers (``wait_for_event`` timeouts and
  ``ctx.sleep``) are wall-clock: they keep their time whether the run was held, released
  idle or down, and fire at once on resume if they fell due meanwhile.
- Every dispatch over timers is a ``match`` ending in ``assert_never``, so a new kind that is
  not handled fails type checking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

__all__ = [
    "RUN_TIMER",
    "RetryTimer",
    "RunTimer",
    "StepTimer",
    "Timer",
    "WaitTimer",
    "counts_working_time",
    "retry_timer_id",
    "step_timer_id",
    "timer_id",
    "wait_timer_id",
]

RUN_TIMER = "run"
"""The id of the run's timeout timer."""


@dataclass(slots=True)
class RunTimer:
    """The run's timeout: when it fires the run ends timed out."""

    at: float


@dataclass(slots=True)
class RetryTimer:
    """A failed delivery of ``step`` waits out its retry delay (``number`` keys it in
    ``StepRuntime.delayed``)."""

    at: float
    step: str
    number: int


@dataclass(slots=True)
class WaitTimer:
    """A ``ctx.wait_for_event`` of waiter ``waiter`` times out."""

    at: float
    waiter: str


@dataclass(slots=True)
class StepTimer:
    """Invocation ``invocation`` hit its step's time limit."""

    at: float
    invocation: int


Timer = RunTimer | RetryTimer | WaitTimer | StepTimer


def timer_id(timer: Timer) -> str:
    """The id ``timer`` is stored and journaled under.

    Example:
        >>> timer_id(RetryTimer(3.0, "fetch", 2)), timer_id(WaitTimer(1.0, "answer"))
        ('retry:2', 'wait:answer')
    """
    match timer:
        case RunTimer():
            return RUN_TIMER
        case RetryTimer(number=number):
            return retry_timer_id(number)
        case WaitTimer(waiter=waiter):
            return wait_timer_id(waiter)
        case StepTimer(invocation=invocation):
            return step_timer_id(invocation)
        case _:
            assert_never(timer)


def counts_working_time(timer: Timer) -> bool:
    """Whether ``timer`` measures the run's own work (it stands still while the run is down)
    rather than waiting for the world (wall-clock: a person's deadline, a durable sleep).

    Example:
        >>> counts_working_time(StepTimer(5.0, 1)), counts_working_time(WaitTimer(5.0, "a"))
        (True, False)
    """
    match timer:
        case RunTimer() | RetryTimer() | StepTimer():
            return True
        case WaitTimer():
            return False
        case _:
            assert_never(timer)


def retry_timer_id(number: int) -> str:
    """The id of retry timer ``number``."""
    return f"retry:{number}"


def wait_timer_id(waiter: str) -> str:
    """The id of the timeout of waiter ``waiter``."""
    return f"wait:{waiter}"


def step_timer_id(invocation: int) -> str:
    """The id of the time limit of invocation ``invocation``."""
    return f"step:{invocation}"
