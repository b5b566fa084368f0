"""``RunView``: named, read-only questions about a run's state, for code outside the reducer.

The reducer owns ``RunState``; the handler, ``Context`` and the server ask it questions
through this view (is the run over, how did it end, which steps run) instead of walking its
fields, so the state's layout can change behind one module.
"""

from __future__ import annotations

from typing import Any

from stepwork._core.state import RunState

__all__ = ["RunView"]


class RunView:
    """Read-only queries over one run's ``RunState`` (the state itself is not exposed).

    Args:
        state: The run's state, as the reducer keeps it.
    """

    __slots__ = ("_state",)

    def __init__(self, state: RunState) -> None:
        self._state = state

    @property
    def done(self) -> bool:
        """True once the run has ended, whatever the ending."""
        return self._state.done

    @property
    def cancelled(self) -> bool:
        """True if the caller cancelled the run."""
        return self._state.status == "cancelled"

    @property
    def failed(self) -> bool:
        """True if the run ended with an error (a step's, a timeout, ...)."""
        return self._state.status == "failed"

    @property
    def stop_event(self) -> Any:
        """The run's terminal event once it ended, else ``None``."""
        return self._state.stop_event

    @property
    def error(self) -> BaseException | None:
        """The error the run ended with, if it failed."""
        return self._state.error

    @property
    def error_traceback(self) -> str | None:
        """The failing step's traceback as text, as journaled."""
        return self._state.error_traceback

    @property
    def failed_step(self) -> str | None:
        """The step the run failed in, if a step's failure ended it."""
        return getattr(self._state.stop_event, "step_name", None) or None

    @property
    def only_waits(self) -> bool:
        """True while the running run is idle: nothing runs, is queued or delayed, and it
        waits for outside input (a person, an event) or a wait's timer."""
        return self._state.status == "running" and self._state.idle_announced

    def active_steps(self) -> list[str]:
        """Names of steps with a running invocation, in step order."""
        return self._state.active_steps()
