"""Time while a run is down: waits are wall-clock, working time stands still, and a wait's
timeout is kept as its answer for a step that runs again (``_core/timers.py``)."""

from __future__ import annotations

from stepwork._core.commands import CommandResolveWaiter, CommandRunStep, CommandSchedule
from stepwork._core.events import HumanResponseEvent, StartEvent, StopEvent, WaitTimedOut
from stepwork._core.graph import handler_map
from stepwork._core.reducer import Reducer
from stepwork._core.specs import StepSpec, WorkflowSpec
from stepwork._core.state import RunState
from stepwork._core.ticks import TickStart, TickStepFailed, TickTimer, TickWait

START = StartEvent()


class Answer(HumanResponseEvent):
    text: str = ""


def make(*steps: StepSpec, human: bool = False) -> tuple[Reducer, RunState]:
    specs = {s.name: s for s in steps}
    spec = WorkflowSpec("W", specs, StartEvent, StopEvent, human, handler_map(specs))
    reducer = Reducer(spec)
    return reducer, reducer.new_state("run-1")


def rerun_invocation(commands: list[object], step: str) -> int:
    (number,) = [
        c.invocation.id
        for c in commands
        if isinstance(c, CommandRunStep) and c.invocation.delivery.step == step
    ]
    return number


def test_a_resume_shifts_working_time_but_not_waits() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent, Answer), returns=(StopEvent,)),
        StepSpec("r", accepted=(StartEvent,), returns=(StopEvent,)),
        human=True,
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    reducer.reduce(state, TickWait(0.0, 0, "w1", Answer, (), None, 5.0))
    reducer.reduce(state, TickStepFailed(1.0, 1, RuntimeError("flaky"), 10.0, step="r"))
    out = reducer.reduce(state, TickStart(101.0, "run-1", None, None))  # down for 100 s
    schedules = {c.timer_id: c.at for c in out if isinstance(c, CommandSchedule)}
    assert schedules == {"wait:w1": 5.0, "retry:0": 111.0}
    # The wait fell due while the run was down: it fires at once, and the step, running
    # again, gets the timeout when it reaches its wait.
    s = rerun_invocation(out, "s")
    assert reducer.reduce(state, TickTimer(101.0, "wait:w1")) == []
    out = reducer.reduce(state, TickWait(101.0, s, "w1", Answer, (), None, 5.0))
    assert out == [CommandResolveWaiter(s, "w1", WaitTimedOut())]
    assert "wait:w1" not in state.timers


def test_a_timeout_that_fired_is_kept_for_a_step_that_runs_again() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent, Answer), returns=(StopEvent,)), human=True
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    reducer.reduce(state, TickWait(0.0, 0, "sleep:0", WaitTimedOut, (), None, 5.0))
    assert reducer.reduce(state, TickTimer(5.0, "wait:sleep:0")) == [
        CommandResolveWaiter(0, "sleep:0", None)
    ]
    out = reducer.reduce(state, TickStart(9.0, "run-1", None, None))  # died before it ended
    s = rerun_invocation(out, "s")
    out = reducer.reduce(state, TickWait(9.0, s, "sleep:0", WaitTimedOut, (), None, 5.0))
    assert out == [CommandResolveWaiter(s, "sleep:0", WaitTimedOut())]  # no second sleep
    assert not state.timers
