"""Table-style tests of the pure reducer: ticks in, commands out, no event loop."""

from __future__ import annotations

from typing import Any

import pytest

from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandCollected,
    CommandFinish,
    CommandPublish,
    CommandResolveWaiter,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.errors import WorkflowStalledError, WorkflowTimeoutError
from stepwork._core.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    InternalDispatchEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    UnhandledEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
)
from stepwork._core.graph import handler_map
from stepwork._core.notices import StepNotice
from stepwork._core.reducer import Reducer
from stepwork._core.specs import CollectSpec, StepSpec, WorkflowSpec
from stepwork._core.state import RunState
from stepwork._core.ticks import (
    TickCancel,
    TickCollect,
    TickEvent,
    TickStart,
    TickStepDone,
    TickStepFailed,
    TickTimer,
    TickWait,
)


class A(Event):
    n: int = 0


class B(Event):
    n: int = 0


class Ask(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    text: str = ""


def make(*steps: StepSpec, human: bool = False) -> tuple[Reducer, RunState]:
    specs = {s.name: s for s in steps}
    spec = WorkflowSpec("W", specs, StartEvent, StopEvent, human, handler_map(specs))
    reducer = Reducer(spec)
    return reducer, reducer.new_state("run-1")


def runs(commands: list[Command]) -> list[tuple[str, Any]]:
    return [
        (c.invocation.delivery.step, c.invocation.delivery.payload)
        for c in commands
        if isinstance(c, CommandRunStep)
    ]


def public(commands: list[Command]) -> list[Any]:
    return [
        c.event
        for c in commands
        if isinstance(c, CommandPublish)
        and not isinstance(c.event, InternalDispatchEvent | StepNotice)
    ]


def internal(commands: list[Command]) -> list[Any]:
    return [
        c.event
        for c in commands
        if isinstance(c, CommandPublish) and isinstance(c.event, InternalDispatchEvent | StepNotice)
    ]


def finish(commands: list[Command]) -> CommandFinish | None:
    found = [c for c in commands if isinstance(c, CommandFinish)]
    assert len(found) <= 1
    return found[0] if found else None


def invocation_ids(commands: list[Command]) -> list[int]:
    return [c.invocation.id for c in commands if isinstance(c, CommandRunStep)]


START = StartEvent()


def test_linear_run_routes_by_type_and_finishes_on_stop() -> None:
    reducer, state = make(
        StepSpec("first", accepted=(StartEvent,), returns=(A,)),
        StepSpec("second", accepted=(A,), returns=(StopEvent,)),
    )
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    assert runs(out) == [("first", START)]
    a = A(n=1)
    out = reducer.reduce(state, TickStepDone(1.0, 0, a))
    assert runs(out) == [("second", a)]
    stop = StopEvent(result=42)
    out = reducer.reduce(state, TickStepDone(2.0, 1, stop))
    done = finish(out)
    assert done is not None and done.stop_event is stop and done.error is None
    assert state.status == "completed" and public(out) == [stop]


def test_event_is_broadcast_to_every_accepting_step_in_step_order() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A,)),
        StepSpec("x", accepted=(A,), returns=(StopEvent,)),
        StepSpec("y", accepted=(A,), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    a = A()
    assert runs(reducer.reduce(state, TickStepDone(0.0, 0, a))) == [("x", a), ("y", a)]


def test_subclasses_route_only_where_opted_in() -> None:
    class Sub(A):
        pass

    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A,)),
        StepSpec("exact", accepted=(A,), returns=(StopEvent,)),
        StepSpec("loose", accepted=(A,), returns=(StopEvent,), accept_subclasses=True),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    sub = Sub()
    assert runs(reducer.reduce(state, TickStepDone(0.0, 0, sub))) == [("loose", sub)]


def test_num_workers_caps_concurrency_and_queues_in_order() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A,)),
        StepSpec("w", accepted=(A,), returns=(StopEvent,), num_workers=2),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    out: list[Command] = []
    for n in range(3):
        out += reducer.reduce(state, TickEvent(0.0, A(n=n)))
    assert [p.n for _, p in runs(out)] == [0, 1]
    assert [e.step_state.value for e in internal(out) if e.name == "w"].count("preparing") == 1
    first = invocation_ids(out)[0]
    out = reducer.reduce(state, TickStepDone(1.0, first, None))
    started = [c.invocation for c in out if isinstance(c, CommandRunStep)]
    assert [(i.delivery.payload.n, i.worker) for i in started] == [(2, 0)]


def test_retry_delay_schedules_a_timer_and_reruns_with_attempt_count() -> None:
    reducer, state = make(StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,)))
    reducer.reduce(state, TickStart(10.0, "run-1", START, None))
    out = reducer.reduce(state, TickStepFailed(11.0, 0, ValueError("x"), retry_delay=5.0))
    assert [c for c in out if isinstance(c, CommandSchedule)] == [CommandSchedule("retry:0", 16.0)]
    assert finish(out) is None and not state.is_quiet()
    out = reducer.reduce(state, TickTimer(16.0, "retry:0"))
    (again,) = [c.invocation for c in out if isinstance(c, CommandRunStep)]
    assert again.delivery.attempts == 1 and again.delivery.first_attempt_at == 10.0
    assert isinstance(again.delivery.last_error, ValueError)


def test_failure_without_retry_fails_the_run_with_the_original_error() -> None:
    reducer, state = make(StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,)))
    reducer.reduce(state, TickStart(10.0, "run-1", START, None))
    boom = KeyError("boom")
    out = reducer.reduce(state, TickStepFailed(12.5, 0, boom))
    done = finish(out)
    assert done is not None and done.error is boom
    failed = done.stop_event
    assert isinstance(failed, WorkflowFailedEvent)
    assert (failed.step_name, failed.attempts, failed.elapsed_seconds) == ("s", 1, 2.5)


def test_run_timeout_ends_with_active_steps_named() -> None:
    reducer, state = make(StepSpec("slow", accepted=(StartEvent,), returns=(StopEvent,)))
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, 3.0))
    assert CommandSchedule("run", 3.0) in out
    out = reducer.reduce(state, TickTimer(3.0, "run"))
    done = finish(out)
    assert done is not None and isinstance(done.error, WorkflowTimeoutError)
    assert str(done.error) == "Operation timed out after 3.0 seconds. Currently active steps: slow"
    assert isinstance(done.stop_event, WorkflowTimedOutEvent) and done.stop_event.active_steps == [
        "slow"
    ]
    assert [c.invocation for c in out if isinstance(c, CommandCancelStep)] == [0]


def test_step_timeout_asks_the_driver_to_cancel_the_invocation() -> None:
    reducer, state = make(StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,), timeout=2.0))
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    assert CommandSchedule("step:0", 2.0) in out
    out = reducer.reduce(state, TickTimer(2.0, "step:0"))
    assert out == [CommandCancelStep(0, timed_out=True)]


def test_a_run_that_can_never_finish_fails_at_once() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A,)),
        StepSpec("t", accepted=(A,), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, 60.0))
    out = reducer.reduce(state, TickStepDone(1.0, 0, None))
    done = finish(out)
    assert done is not None and isinstance(done.error, WorkflowStalledError)
    assert "step 's' returned None" in str(done.error)
    assert isinstance(done.stop_event, WorkflowFailedEvent) and done.stop_event.step_name == "s"


def test_an_event_nobody_accepts_is_reported_then_the_run_stalls() -> None:
    reducer, state = make(StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,)))
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    out = reducer.reduce(state, TickStepDone(1.0, 0, B()))
    assert [e.event_type for e in internal(out) if isinstance(e, UnhandledEvent)] == ["B"]
    done = finish(out)
    assert done is not None and "no step accepts B" in str(done.error)


def test_a_workflow_that_asks_people_goes_idle_instead_of_failing() -> None:
    reducer, state = make(
        StepSpec("ask", accepted=(StartEvent,), returns=(Ask,)),
        StepSpec("answer", accepted=(Answer,), returns=(StopEvent,)),
        human=True,
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    ask = Ask()
    out = reducer.reduce(state, TickStepDone(1.0, 0, ask))
    assert public(out) == [ask]
    assert any(isinstance(e, WorkflowIdleEvent) for e in internal(out))
    assert finish(out) is None
    reply = Answer(text="yes")
    assert runs(reducer.reduce(state, TickEvent(2.0, reply))) == [("answer", reply)]


def test_fan_out_fans_in_in_arrival_order_when_the_stream_closes() -> None:
    reducer, state = make(
        StepSpec("fan", accepted=(StartEvent,), returns=(A,), fan_out=(A,)),
        StepSpec("work", accepted=(A,), returns=(B,)),
        StepSpec("gather", collect=CollectSpec("items", (B,)), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    out = reducer.reduce(state, TickStepDone(0.0, 0, [A(n=0), A(n=1), A(n=2)]))
    ids = invocation_ids(out)
    assert len(ids) == 3
    assert runs(reducer.reduce(state, TickStepDone(1.0, ids[2], B(n=2)))) == []
    assert runs(reducer.reduce(state, TickStepDone(1.0, ids[0], None))) == []
    out = reducer.reduce(state, TickStepDone(1.0, ids[1], B(n=1)))
    ((step, payload),) = runs(out)
    assert step == "gather" and [b.n for b in payload] == [2, 1]
    assert state.streams == {}


def test_empty_fan_out_fires_collectors_with_an_empty_list() -> None:
    reducer, state = make(
        StepSpec("fan", accepted=(StartEvent,), returns=(A,), fan_out=(A,)),
        StepSpec("work", accepted=(A,), returns=(B,)),
        StepSpec("gather", collect=CollectSpec("items", (B,)), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    assert runs(reducer.reduce(state, TickStepDone(0.0, 0, []))) == [("gather", [])]


def test_take_fires_on_the_nth_arrival_only_once() -> None:
    reducer, state = make(
        StepSpec("fan", accepted=(StartEvent,), returns=(A,), fan_out=(A,)),
        StepSpec("gather", collect=CollectSpec("items", (A,), take=2), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    ((step, payload),) = runs(reducer.reduce(state, TickStepDone(0.0, 0, [A(n=0), A(n=1), A(n=2)])))
    assert step == "gather" and [a.n for a in payload] == [0, 1]


def test_join_fires_when_every_slot_is_filled() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A, B)),
        StepSpec("j", slots=(("a", A), ("b", B)), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    a, b = A(n=1), B(n=2)
    assert runs(reducer.reduce(state, TickEvent(0.0, a))) == []
    assert runs(reducer.reduce(state, TickEvent(0.0, b))) == [("j", {"a": a, "b": b})]


def test_collect_events_answers_none_until_complete_then_in_expected_order() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A,)),
        StepSpec("c", accepted=(A, B), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    b, a = B(), A()
    out = reducer.reduce(state, TickCollect(0.0, 0, "default", b, 2, None))
    assert [c for c in out if isinstance(c, CommandCollected)] == [CommandCollected(0, None)]
    out = reducer.reduce(state, TickCollect(0.0, 0, "default", a, 2, ((A, 1), (B, 1))))
    (answer,) = [c for c in out if isinstance(c, CommandCollected)]
    assert answer.events == [a, b]
    assert state.steps["s"].buffers["default"] == []


def test_waiter_takes_a_matching_event_instead_of_its_step() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent, Answer), returns=(StopEvent,)),
        human=True,
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    ask = Ask()
    out = reducer.reduce(state, TickWait(0.0, 0, "w1", Answer, (("text", "yes"),), ask, 30.0))
    assert public(out) == [ask] and CommandSchedule("wait:w1", 30.0) in out
    assert runs(reducer.reduce(state, TickEvent(1.0, Answer(text="no")))) == [
        ("s", Answer(text="no"))
    ]
    yes = Answer(text="yes")
    out = reducer.reduce(state, TickEvent(2.0, yes))
    assert runs(out) == [] and CommandResolveWaiter(0, "w1", yes) in out


def test_waiter_timeout_wakes_the_step_with_none() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent, Answer), returns=(StopEvent,)), human=True
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    reducer.reduce(state, TickWait(0.0, 0, "w1", Answer, (), None, 5.0))
    assert reducer.reduce(state, TickTimer(5.0, "wait:w1")) == [CommandResolveWaiter(0, "w1", None)]


def test_cancel_ends_the_run_and_cancels_running_steps() -> None:
    reducer, state = make(StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,)))
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    out = reducer.reduce(state, TickCancel(1.0))
    done = finish(out)
    assert done is not None and isinstance(done.stop_event, WorkflowCancelledEvent)
    assert CommandCancelStep(0) in out and state.status == "cancelled"


def test_catch_error_recovers_within_max_recoveries_then_fails() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,)),
        StepSpec(
            "h", accepted=(StepFailedEvent,), returns=(StartEvent,), catch_error=True, num_workers=1
        ),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    out = reducer.reduce(state, TickStepFailed(1.0, 0, ValueError("one")))
    ((step, failed),) = runs(out)
    assert step == "h" and isinstance(failed, StepFailedEvent) and failed.step_name == "s"
    handler_id = invocation_ids(out)[0]
    out = reducer.reduce(state, TickStepDone(2.0, handler_id, StartEvent()))
    again = invocation_ids(out)[0]
    out = reducer.reduce(state, TickStepFailed(3.0, again, ValueError("two")))
    done = finish(out)
    assert done is not None and isinstance(done.error, ValueError) and done.error.args == ("two",)


def test_ticks_after_the_end_change_nothing() -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,), num_workers=2)
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    reducer.reduce(state, TickEvent(0.0, StartEvent()))
    reducer.reduce(state, TickStepDone(1.0, 0, StopEvent()))
    assert reducer.reduce(state, TickStepDone(2.0, 1, A())) == []
    assert reducer.reduce(state, TickTimer(3.0, "run")) == []


@pytest.mark.parametrize("output", [StopEvent(result=1), A()])
def test_stop_event_sent_from_outside_also_ends_the_run(output: Event) -> None:
    reducer, state = make(
        StepSpec("s", accepted=(StartEvent,), returns=(A,)),
        StepSpec("t", accepted=(A,), returns=(StopEvent,)),
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    out = reducer.reduce(state, TickEvent(0.0, output))
    assert (finish(out) is not None) == isinstance(output, StopEvent)
