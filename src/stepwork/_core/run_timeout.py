"""The run timeout counts working time: it pauses while a run waits for input from outside.

Invariants:
- While a run is idle (``RunState.idle_announced``: nothing runs, is queued or delayed, and
  every running step waits in ``ctx.wait_for_event``, or the run asked people for input), its
  ``run`` timer is not scheduled; ``RunState.run_budget`` holds the seconds it had left.
- When the idle spell ends (an event arrived and work goes on), the timer is scheduled again
  for the remaining budget. Pausing and resuming are decided from ticks alone, so folding a
  run's ticks gives the same timers as the live run.
- Other timers (a ``wait_for_event`` timeout, a step timeout, a retry delay) are not paused.
"""

from __future__ import annotations

from stepwork._core.commands import Command, CommandCancelTimer, CommandSchedule
from stepwork._core.state import RunState
from stepwork._core.timers import RUN_TIMER, RunTimer

__all__ = ["pace_run_timeout"]


def pace_run_timeout(state: RunState, at: float, out: list[Command]) -> None:
    """Pause the run timer when the run has just gone idle; resume it when it no longer is.

    Called by the reducer after every tick, with the tick's time ``at``.

    Example:
        >>> state = RunState(status="running", idle_announced=True)
        >>> state.timers["run"] = RunTimer(45.0)
        >>> out: list[Command] = []
        >>> pace_run_timeout(state, 5.0, out)
        >>> state.run_budget, out
        (40.0, [CommandCancelTimer(timer_id='run')])
        >>> state.idle_announced = False
        >>> pace_run_timeout(state, 100.0, out)
        >>> state.timers["run"].at, out[-1]
        (140.0, CommandSchedule(timer_id='run', at=140.0))
    """
    if state.status != "running":
        return
    if state.idle_announced:
        timer = state.timers.pop(RUN_TIMER, None)
        if timer is not None:
            state.run_budget = max(0.0, timer.at - at)
            out.append(CommandCancelTimer(RUN_TIMER))
    elif state.run_budget is not None:
        due = at + state.run_budget
        state.run_budget = None
        state.timers[RUN_TIMER] = RunTimer(due)
        out.append(CommandSchedule(RUN_TIMER, due))
