"""A ``collect_events`` call folds once: a re-run of its delivery gets the recorded answer.

A run resumed after a crash runs its in-flight invocations again from the top, and a retry runs
a failed delivery again. Their collect calls must not land in a buffer the journal already
emptied (the fan-in would stall) nor buffer their event a second time.
"""

from __future__ import annotations

import json
from typing import Any

from stepwork._core.commands import Command, CommandCollected, CommandFinish, CommandRunStep
from stepwork._core.events import Event, StartEvent, StopEvent
from stepwork._core.graph import handler_map
from stepwork._core.reducer import Reducer, fold
from stepwork._core.specs import StepSpec, WorkflowSpec
from stepwork._core.state import RunState
from stepwork._core.ticks import (
    Tick,
    TickCollect,
    TickEvent,
    TickStart,
    TickStepDone,
    TickStepFailed,
    TickTimer,
)
from stepwork._stores.state_codec import dump_run_state, load_run_state
from stepwork._stores.type_registry import TypeRegistry


class Part(Event):
    n: int = 0


THREE = ((Part, 3),)


def reducer() -> Reducer:
    steps = (
        StepSpec("start", accepted=(StartEvent,), returns=(Part,)),
        StepSpec("gather", accepted=(Part,), returns=(StopEvent,), num_workers=1),
    )
    specs = {s.name: s for s in steps}
    return Reducer(WorkflowSpec("W", specs, StartEvent, StopEvent, False, handler_map(specs)))


PARTS = [Part(n=1), Part(n=2), Part(n=3)]


def log_until_third_collect() -> list[Tick]:
    """A fan-in run up to (and including) the collect that releases the three parts.

    ``start`` is invocation 0; ``gather`` runs one part at a time as invocations 1, 2, 3.
    """
    return [
        TickStart(0.0, "run-1", StartEvent(), None),
        *(TickEvent(0.1, part) for part in PARTS),
        TickStepDone(0.2, 0, None, "start"),
        TickCollect(0.3, 1, "default", PARTS[0], 3, None),
        TickStepDone(0.4, 1, None, "gather"),
        TickCollect(0.5, 2, "default", PARTS[1], 3, None),
        TickStepDone(0.6, 2, None, "gather"),
        TickCollect(0.7, 3, "default", PARTS[2], 3, THREE),
    ]


def answer(commands: list[Command]) -> list[Any] | None:
    (collected,) = [c for c in commands if isinstance(c, CommandCollected)]
    return collected.events


def reruns(commands: list[Command]) -> list[tuple[int, Any]]:
    return [
        (c.invocation.id, c.invocation.delivery.payload)
        for c in commands
        if isinstance(c, CommandRunStep)
    ]


def test_a_resumed_run_hands_the_released_list_to_the_rerun_and_finishes() -> None:
    r = reducer()
    ticks = log_until_third_collect()
    live = r.new_state("")
    outcomes = [r.reduce(live, tick) for tick in ticks]
    assert answer(outcomes[-1]) == PARTS
    assert live.steps["gather"].buffers["default"] == []  # the journal emptied the buffer

    # The process dies before the step's step_done: fold the log and resume.
    state = fold(r, ticks)
    resumed = r.reduce(state, TickStart(1.0, "run-1", None, None))
    assert reruns(resumed) == [(4, PARTS[2])]
    # The driver builds the re-run's tick against the empty buffer: no run-length encoding.
    again = r.reduce(state, TickCollect(1.1, 4, "default", PARTS[2], 3, None))
    assert answer(again) == PARTS
    assert state.steps["gather"].buffers["default"] == []  # its event was not buffered again
    done = r.reduce(state, TickStepDone(1.2, 4, StopEvent(result=[1, 2, 3]), "gather"))
    (ending,) = [c for c in done if isinstance(c, CommandFinish)]
    assert ending.error is None and ending.stop_event.result == [1, 2, 3]
    assert state.status == "completed"
    assert state.collected == {} and state.collect_calls == {}


def test_a_rerun_of_a_collect_that_released_nothing_does_not_buffer_its_event_twice() -> None:
    r = reducer()
    ticks = log_until_third_collect()[:6]  # killed right after part 1's collect tick
    state = fold(r, ticks)
    assert state.steps["gather"].buffers["default"] == [PARTS[0]]
    assert reruns(r.reduce(state, TickStart(1.0, "run-1", None, None))) == [(2, PARTS[0])]
    assert answer(r.reduce(state, TickCollect(1.1, 2, "default", PARTS[0], 3, None))) is None
    assert state.steps["gather"].buffers["default"] == [PARTS[0]]
    assert reruns(r.reduce(state, TickStepDone(1.2, 2, None, "gather"))) == [(3, PARTS[1])]
    assert answer(r.reduce(state, TickCollect(1.3, 3, "default", PARTS[1], 3, None))) is None
    assert reruns(r.reduce(state, TickStepDone(1.4, 3, None, "gather"))) == [(4, PARTS[2])]
    released = answer(r.reduce(state, TickCollect(1.5, 4, "default", PARTS[2], 3, THREE)))
    assert released == PARTS  # not parts 1, 1, 2: part 1 was buffered once


def test_each_call_of_an_invocation_is_answered_by_its_own_number() -> None:
    r = reducer()
    state = fold(r, log_until_third_collect()[:5])  # gather (invocation 1) is running
    extra = Part(n=9)
    # One invocation collecting twice into the same buffer: calls 0 and 1.
    r.reduce(state, TickCollect(0.3, 1, "default", PARTS[0], 2, None))
    assert answer(r.reduce(state, TickCollect(0.4, 1, "default", extra, 2, ((Part, 2),)))) == [
        PARTS[0],
        extra,
    ]
    assert reruns(r.reduce(state, TickStart(1.0, "run-1", None, None))) == [(2, PARTS[0])]
    assert answer(r.reduce(state, TickCollect(1.1, 2, "default", PARTS[0], 2, None))) is None
    assert answer(r.reduce(state, TickCollect(1.2, 2, "default", extra, 2, None))) == [
        PARTS[0],
        extra,
    ]
    # A third call has no recorded answer: it collects afresh.
    assert answer(r.reduce(state, TickCollect(1.3, 2, "default", extra, 2, None))) is None
    assert state.steps["gather"].buffers["default"] == [extra]


def test_a_retry_gets_the_list_its_failed_attempt_was_given() -> None:
    r = reducer()
    state = fold(r, log_until_third_collect())
    r.reduce(state, TickStepFailed(0.8, 3, RuntimeError("flaky"), 0.5, False, "gather"))
    assert set(state.collected) == {state.steps["gather"].delayed[0].key}
    (timer_id,) = [t for t in state.timers if t.startswith("retry")]
    assert reruns(r.reduce(state, TickTimer(1.3, timer_id))) == [(4, PARTS[2])]
    assert answer(r.reduce(state, TickCollect(1.4, 4, "default", PARTS[2], 3, None))) == PARTS
    # A failure that is not retried ends the delivery: its answers go with it.
    r.reduce(state, TickStepFailed(1.5, 4, RuntimeError("again"), None, False, "gather"))
    assert state.status == "failed" and state.collected == {}


def test_answers_live_only_while_their_delivery_runs() -> None:
    r = reducer()
    state = r.new_state("")
    for tick in log_until_third_collect():
        r.reduce(state, tick)
        # At most the one running gather invocation has answers and a call count.
        assert len(state.collected) <= 1 and len(state.collect_calls) <= 1


def registry() -> TypeRegistry:
    return TypeRegistry.default().with_types(Part)


def test_collect_answers_survive_a_snapshot_and_old_snapshots_load_without_them() -> None:
    r = reducer()
    state = fold(r, log_until_third_collect())
    data = json.loads(json.dumps(dump_run_state(state)))
    loaded = load_run_state(data, registry())
    assert dump_run_state(loaded) == dump_run_state(state)
    assert loaded.collect_calls == {3: {"default": 1}}
    assert list(loaded.collected.values()) == [{("default", 0): PARTS}]
    r.reduce(loaded, TickStart(1.0, "run-1", None, None))
    assert answer(r.reduce(loaded, TickCollect(1.1, 4, "default", PARTS[2], 3, None))) == PARTS

    old = {k: v for k, v in data.items() if k not in ("collect_calls", "collected")}
    before: RunState = load_run_state(old, registry())
    assert before.collected == {} and before.collect_calls == {}
