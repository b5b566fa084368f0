"""Which run and invocation the code running in a task belongs to (``ctx`` finds its step here)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from stepwork._core.state import Invocation

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = ["NOT_RETURNED", "SCOPE", "StepScope", "current_scope", "running_step"]

NOT_RETURNED: Any = object()
"""``StepScope.output`` until the step's code returns (it raised, or is still running)."""


class StepScope:
    """The run and invocation of the step running in a task, forgotten when the step ends.

    Everything scheduled from inside a step (``loop.call_later``, tasks it starts) copies the
    step's ``contextvars`` context and keeps it as long as it lives. The context var therefore
    holds this small box, emptied when the step returns, rather than the driver itself: a timer
    left behind by a step must not keep the run, its context and its workflow alive.

    ``output`` is what the step's code returned, for observers to read when it leaves the code
    (``RunObserver.step_code_left``); an observer that reads it puts ``NOT_RETURNED`` back.
    """

    __slots__ = ("calls", "output", "sleeps", "value")

    def __init__(self, driver: RunDriver, invocation: Invocation) -> None:
        self.value: tuple[RunDriver, Invocation] | None = (driver, invocation)
        self.output: Any = NOT_RETURNED
        self.sleeps = 0
        """How many ``ctx.sleep`` calls this run of the step made: the n-th sleep of a step
        is the same wait each time the step runs (again, after a resume)."""
        self.calls = 0
        """Journaled calls (``ctx.once``, child workflows) the invocation has made so far."""

    def next_call(self) -> int:
        """Number the invocation's next journaled call (0 for its first)."""
        number = self.calls
        self.calls = number + 1
        return number


SCOPE: ContextVar[StepScope | None] = ContextVar("stepwork_current_step", default=None)


def current_scope() -> StepScope | None:
    """The scope of the step running in this task (``None`` outside steps, or once it ended)."""
    scope = SCOPE.get()
    return None if scope is None or scope.value is None else scope


def running_step() -> tuple[RunDriver, Invocation] | None:
    """The driver and invocation of the step running in this task, or ``None`` outside steps."""
    scope = SCOPE.get()
    return None if scope is None else scope.value
