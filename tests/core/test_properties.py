"""Property tests of the pure reducer: fan-in, worker pools, replay and ``collect_events``.

The reducer is driven without an event loop: each test plays the driver, feeding ticks and
reading the commands that come back, while hypothesis picks the order in which things happen.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandCollected,
    CommandFinish,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from stepwork._core.graph import handler_map
from stepwork._core.reducer import Reducer, fold
from stepwork._core.specs import CollectSpec, StepSpec, WorkflowSpec
from stepwork._core.state import Invocation, RunState
from stepwork._core.ticks import (
    Tick,
    TickCancel,
    TickCollect,
    TickEvent,
    TickPublish,
    TickStart,
    TickStateWrite,
    TickStepDone,
    TickStepFailed,
    TickTimer,
    TickWait,
)
from stepwork._runtime.snapshot import dump_run_state


class A(Event):
    n: int = 0


class B(Event):
    n: int = 0


class C(Event):
    n: int = 0


class D(Event):
    n: int = 0


class Ask(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    text: str = ""


START = StartEvent()

# derandomize: the same examples on every run, so the suite stays deterministic.
FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def make(*steps: StepSpec, human: bool = False) -> tuple[Reducer, RunState]:
    specs = {s.name: s for s in steps}
    spec = WorkflowSpec("W", specs, StartEvent, StopEvent, human, handler_map(specs))
    reducer = Reducer(spec)
    return reducer, reducer.new_state("run-1")


def started(commands: list[Command]) -> list[Invocation]:
    return [c.invocation for c in commands if isinstance(c, CommandRunStep)]


# -- fan-out of N members, completed in any order --------------------------------------------


@FAST
@given(data=st.data(), size=st.integers(min_value=0, max_value=40))
def test_fan_in_fires_once_with_the_non_none_results_in_completion_order(
    data: st.DataObject, size: int
) -> None:
    reducer, state = make(
        StepSpec("fan", accepted=(StartEvent,), returns=(A,), fan_out=(A,)),
        StepSpec("work", accepted=(A,), returns=(B,), num_workers=64),
        StepSpec("gather", collect=CollectSpec("items", (B,)), returns=(StopEvent,)),
    )
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    (fan,) = started(out)
    out = reducer.reduce(state, TickStepDone(1.0, fan.id, [A(n=n) for n in range(size)]))
    members = started(out)
    gathers = [i for i in members if i.delivery.step == "gather"]
    workers = {i.id: i.delivery.payload.n for i in members if i.delivery.step == "work"}
    assert len(workers) == size

    order = data.draw(st.permutations(sorted(workers)), label="completion order")
    returns_none = data.draw(
        st.lists(st.booleans(), min_size=size, max_size=size), label="returns None"
    )
    expected: list[B] = []
    for at, number in enumerate(order, start=2):
        n = workers[number]
        output = None if returns_none[n] else B(n=n)
        if output is not None:
            expected.append(output)
        out = reducer.reduce(state, TickStepDone(float(at), number, output))
        fired = [i for i in started(out) if i.delivery.step == "gather"]
        assert not fired or number == order[-1], "the collector fired before the stream closed"
        gathers += fired

    assert len(gathers) == 1
    assert gathers[0].delivery.payload == expected
    assert [b.n for b in gathers[0].delivery.payload] == [b.n for b in expected]
    assert state.streams == {}
    out = reducer.reduce(state, TickStepDone(99.0, gathers[0].id, StopEvent(result="done")))
    assert any(isinstance(c, CommandFinish) for c in out) and state.status == "completed"


# -- num_workers ------------------------------------------------------------------------------


@FAST
@given(
    data=st.data(),
    workers=st.integers(min_value=1, max_value=5),
    total=st.integers(min_value=0, max_value=25),
)
def test_num_workers_caps_running_invocations_and_starts_queued_work_fifo(
    data: st.DataObject, workers: int, total: int
) -> None:
    reducer, state = make(
        StepSpec("start", accepted=(StartEvent,), returns=(A,)),
        StepSpec("w", accepted=(A,), returns=(StopEvent,), num_workers=workers),
        human=True,  # an idle run waits (for people) instead of stalling
    )
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    (first,) = started(out)
    reducer.reduce(state, TickStepDone(0.0, first.id, None))

    # A model of the pool: FIFO queue, retries re-enter at the front once their timer fires.
    model_queue: deque[int] = deque()
    model_running: dict[int, int] = {}  # invocation id -> event number
    pending_timers: dict[str, int] = {}  # retry timer id -> event number
    starts: list[int] = []
    finished: list[int] = []
    sent = 0
    clock = 0.0

    def absorb(commands: list[Command], expected_starts: list[int]) -> None:
        got = [i for i in started(commands) if i.delivery.step == "w"]
        assert [i.delivery.payload.n for i in got] == expected_starts
        for invocation in got:
            model_running[invocation.id] = invocation.delivery.payload.n
            starts.append(invocation.delivery.payload.n)
        for command in commands:
            if isinstance(command, CommandSchedule) and command.timer_id.startswith("retry:"):
                pending_timers[command.timer_id] = retried
        slots = list(state.steps["w"].running.values())
        assert len(slots) == len(model_running) <= workers
        assert len(set(slots)) == len(slots) and all(0 <= slot < workers for slot in slots)

    def refill() -> list[int]:
        begun = []
        while model_queue and len(model_running) + len(begun) < workers:
            begun.append(model_queue.popleft())
        return begun

    retried = -1
    while sent < total or model_running or pending_timers:
        choices = []
        if sent < total:
            choices.append("send")
        if model_running:
            choices += ["finish", "retry"]
        if pending_timers:
            choices.append("timer")
        action = data.draw(st.sampled_from(choices), label="action")
        clock += 1.0
        if action == "send":
            model_queue.append(sent)
            out = reducer.reduce(state, TickEvent(clock, A(n=sent)))
            sent += 1
            absorb(out, refill())
        elif action == "timer":
            timer_id = data.draw(st.sampled_from(sorted(pending_timers)), label="timer")
            model_queue.appendleft(pending_timers.pop(timer_id))
            absorb(reducer.reduce(state, TickTimer(clock, timer_id)), refill())
        else:
            number = data.draw(st.sampled_from(sorted(model_running)), label="invocation")
            n = model_running.pop(number)
            if action == "finish":
                finished.append(n)
                out = reducer.reduce(state, TickStepDone(clock, number, None))
            else:
                retried = n
                out = reducer.reduce(state, TickStepFailed(clock, number, ValueError(), 0.0))
            absorb(out, refill())

    assert sorted(finished) == list(range(total)), "every delivery ran to completion once"
    first_starts = list(dict.fromkeys(starts))
    assert first_starts == list(range(total)), "first starts follow the order of arrival"
    assert not state.steps["w"].queue and not state.steps["w"].delayed
    assert state.status == "running"


# -- replay: folding the recorded ticks rebuilds the live state ------------------------------


REPLAY_STEPS = (
    StepSpec("start", accepted=(StartEvent,), returns=(A, D), fan_out=(A,)),
    StepSpec("work", accepted=(A,), returns=(B,), num_workers=2, timeout=2.0),
    StepSpec("gather", collect=CollectSpec("items", (B,)), returns=(C,)),
    StepSpec("first", collect=CollectSpec("items", (A,), take=2), returns=(D,)),
    StepSpec("join", slots=(("c", C), ("d", D)), returns=(StopEvent, Ask)),
    StepSpec("answer", accepted=(Answer,), returns=(StopEvent,)),
    StepSpec(
        "recover",
        accepted=(StepFailedEvent,),
        returns=(StopEvent, D),
        catch_error=True,
        num_workers=1,
        max_recoveries=1,
    ),
)

OUTPUTS: dict[str, list[Any]] = {
    "start": [[], [A(n=1)], [A(n=1), A(n=2), A(n=3)], D(n=9), None],
    "work": [B(n=1), B(n=2), None],
    "gather": [C(n=1), None],
    "first": [D(n=1), None],
    "join": [StopEvent(result="joined"), Ask(), None],
    "answer": [StopEvent(result="answered")],
    "recover": [StopEvent(result="recovered"), D(n=7), None],
}

SENDABLE = [A(n=5), B(n=5), C(n=5), D(n=5), Answer(text="yes"), Answer(text="no"), Event()]


def _play(data: st.DataObject, reducer: Reducer, state: RunState, steps: int) -> list[Tick]:
    """Drive a run with ticks hypothesis picks among those a driver could produce."""
    ticks: list[Tick] = []
    timers: set[str] = set()
    clock = 0.0

    def apply(tick: Tick) -> None:
        ticks.append(tick)
        for command in reducer.reduce(state, tick):
            if isinstance(command, CommandSchedule):
                timers.add(command.timer_id)

    apply(TickStart(clock, "run-1", START, data.draw(st.sampled_from([None, 50.0]))))
    for _ in range(steps):
        if state.done:
            break
        clock += data.draw(st.sampled_from([0.0, 0.5, 3.0]), label="time passes")
        running = sorted(state.invocations)
        kinds = ["send", "state", "cancel"] + (["timer"] if timers else [])
        if state.waiters:
            kinds.append("answer")
        if running:
            kinds += ["done", "done", "done", "fail", "publish", "collect", "wait"]
        kind = data.draw(st.sampled_from(kinds), label="tick kind")
        if kind in ("done", "fail", "publish", "collect", "wait"):
            number = data.draw(st.sampled_from(running), label="invocation")
            step = state.invocations[number].delivery.step
        if kind == "send":
            event = data.draw(st.sampled_from(SENDABLE), label="event")
            target = data.draw(st.sampled_from([None, "work", "answer"]), label="target")
            if target is not None and not isinstance(event, (A, Answer)):
                target = None
            if isinstance(event, Answer) and target == "work":
                target = None
            if isinstance(event, A) and target == "answer":
                target = None
            # Sent from inside a running step (ctx.send_event) or from outside.
            source = data.draw(st.sampled_from([None, *running]), label="source")
            apply(TickEvent(clock, event, target, source))
        elif kind == "answer":
            apply(TickEvent(clock, Answer(text="yes")))
        elif kind == "state":
            apply(TickStateWrite(clock, {"n": data.draw(st.integers(0, 3))}))
        elif kind == "cancel":
            if data.draw(st.integers(0, 9)) == 0:
                apply(TickCancel(clock))
        elif kind == "timer":
            apply(TickTimer(clock, data.draw(st.sampled_from(sorted(timers)), label="timer")))
        elif kind == "done":
            output = data.draw(st.sampled_from(OUTPUTS[step]), label="output")
            apply(TickStepDone(clock, number, output))
        elif kind == "fail":
            delay = data.draw(st.sampled_from([None, 0.0, 1.0]), label="retry delay")
            apply(TickStepFailed(clock, number, KeyError(step), delay))
        elif kind == "publish":
            apply(TickPublish(clock, number, data.draw(st.sampled_from([Event(p=1), Ask()]))))
        elif kind == "collect":
            event = data.draw(st.sampled_from([A(n=1), B(n=2)]), label="collected")
            buffer = data.draw(st.sampled_from(["default", "other"]), label="buffer")
            expected = ((A, 1), (B, 1))
            apply(TickCollect(clock, number, buffer, event, 2, expected))
        else:
            waiter = data.draw(st.sampled_from(["w1", "w2"]), label="waiter")
            requirements = data.draw(st.sampled_from([(), (("text", "yes"),)]))
            apply(TickWait(clock, number, waiter, Answer, requirements, Ask(), 10.0))
    return ticks


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data(), steps=st.integers(min_value=0, max_value=60))
def test_folding_the_recorded_ticks_rebuilds_the_live_state(
    data: st.DataObject, steps: int
) -> None:
    reducer, live = make(*REPLAY_STEPS, human=data.draw(st.booleans(), label="human"))
    ticks = _play(data, reducer, live, steps)
    replayed = fold(reducer, ticks, reducer.new_state(""))
    assert dump_run_state(replayed) == dump_run_state(live)
    assert replayed.tick_count == len(ticks)
    # Folding is deterministic for every prefix too: a fork at tick k is a valid run state.
    cut = data.draw(st.integers(min_value=0, max_value=len(ticks)), label="fork at")
    again = fold(reducer, ticks[:cut], reducer.new_state(""))
    assert dump_run_state(again) == dump_run_state(fold(reducer, ticks[:cut]))


# -- collect_events ---------------------------------------------------------------------------


@FAST
@given(
    data=st.data(),
    wanted=st.integers(min_value=1, max_value=8),
    noise=st.lists(st.sampled_from(["B", "C"]), max_size=10),
    extra=st.integers(min_value=0, max_value=3),
)
def test_collect_events_releases_once_when_complete_in_expected_order(
    data: st.DataObject, wanted: int, noise: list[str], extra: int
) -> None:
    reducer, state = make(
        StepSpec("start", accepted=(StartEvent,), returns=(A, B, C)),
        StepSpec("c", accepted=(A, B, C), returns=(StopEvent,), num_workers=100),
        human=True,
    )
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    (first,) = started(out)
    reducer.reduce(state, TickStepDone(0.0, first.id, None))

    kinds = ["A"] * (wanted + min(extra, wanted - 1)) + noise
    arrival = data.draw(st.permutations(kinds), label="arrival order")
    events: list[Event] = [{"A": A, "B": B, "C": C}[kind](n=i) for i, kind in enumerate(arrival)]
    expected = [A] * wanted
    releases: list[list[Any]] = []
    buffered = 0
    for at, event in enumerate(events, start=1):
        (invocation,) = started(reducer.reduce(state, TickEvent(float(at), event)))
        # As Context.collect_events does: the expected types travel only once they could match.
        rle = ((A, wanted),) if buffered + 1 >= len(expected) else None
        out = reducer.reduce(
            state, TickCollect(float(at), invocation.id, "default", event, len(expected), rle)
        )
        (answer,) = [c for c in out if isinstance(c, CommandCollected)]
        assert answer.invocation == invocation.id
        if answer.events is not None:
            releases.append(answer.events)
        buffered = len(state.steps["c"].buffers["default"])
        reducer.reduce(state, TickStepDone(float(at), invocation.id, None))

    a_events = [e for e in events if isinstance(e, A)]
    assert len(releases) == 1
    assert releases[0] == a_events[:wanted]
    assert all(type(e) is A for e in releases[0])
    left = state.steps["c"].buffers["default"]
    assert [e for e in events if e not in releases[0]] == left


@FAST
@given(
    data=st.data(),
    expected=st.lists(st.sampled_from(["A", "B"]), min_size=1, max_size=6),
    noise=st.lists(st.just("C"), max_size=4),
)
def test_collect_events_orders_a_mixed_release_as_expected(
    data: st.DataObject, expected: list[str], noise: list[str]
) -> None:
    types = {"A": A, "B": B, "C": C}
    reducer, state = make(
        StepSpec("start", accepted=(StartEvent,), returns=(A, B, C)),
        StepSpec("c", accepted=(A, B, C), returns=(StopEvent,), num_workers=100),
        human=True,
    )
    out = reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    (first,) = started(out)
    reducer.reduce(state, TickStepDone(0.0, first.id, None))
    rle: list[tuple[type, int]] = []
    for name in expected:
        if rle and rle[-1][0] is types[name]:
            rle[-1] = (types[name], rle[-1][1] + 1)
        else:
            rle.append((types[name], 1))

    arrival = data.draw(st.permutations(expected + noise), label="arrival order")
    events: list[Event] = [types[kind](n=i) for i, kind in enumerate(arrival)]
    releases = []
    for at, event in enumerate(events, start=1):
        (invocation,) = started(reducer.reduce(state, TickEvent(float(at), event)))
        out = reducer.reduce(
            state,
            TickCollect(float(at), invocation.id, "k", event, len(expected), tuple(rle)),
        )
        releases += [c.events for c in out if isinstance(c, CommandCollected) and c.events]
        reducer.reduce(state, TickStepDone(float(at), invocation.id, None))

    assert len(releases) == 1
    (released,) = releases
    assert [type(e).__name__ for e in released] == expected
    for name in ("A", "B"):
        of_type = [e for e in released if type(e) is types[name]]
        assert of_type == [e for e in events if type(e) is types[name]]
    assert state.steps["c"].buffers["k"] == [e for e in events if type(e) is C]


def test_cancel_step_commands_only_name_running_invocations() -> None:
    """A sanity anchor for the helpers above: ending a run cancels exactly what runs."""
    reducer, state = make(
        StepSpec("start", accepted=(StartEvent,), returns=(A,)),
        StepSpec("w", accepted=(A,), returns=(StopEvent,), num_workers=2),
        human=True,
    )
    reducer.reduce(state, TickStart(0.0, "run-1", START, None))
    for n in range(3):
        reducer.reduce(state, TickEvent(0.0, A(n=n)))
    running = sorted(state.invocations)
    out = reducer.reduce(state, TickCancel(1.0))
    assert sorted(c.invocation for c in out if isinstance(c, CommandCancelStep)) == running


def test_a_failing_empty_collector_is_handed_to_catch_error() -> None:
    reducer, state = make(
        StepSpec("fan", accepted=(StartEvent,), returns=(A,), fan_out=(A,)),
        StepSpec("gather", collect=CollectSpec("items", (A,)), returns=(StopEvent,)),
        StepSpec(
            "recover",
            accepted=(StepFailedEvent,),
            returns=(StopEvent,),
            catch_error=True,
            num_workers=1,
        ),
    )
    (fan,) = started(reducer.reduce(state, TickStart(0.0, "run-1", START, None)))
    (gather,) = started(reducer.reduce(state, TickStepDone(1.0, fan.id, [])))
    assert gather.delivery.payload == []
    out = reducer.reduce(state, TickStepFailed(2.0, gather.id, ValueError("empty")))
    ((step, failed),) = [(i.delivery.step, i.delivery.payload) for i in started(out)]
    assert step == "recover" and failed.step_name == "gather"
