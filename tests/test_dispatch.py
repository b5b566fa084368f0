"""Every dispatch over ticks, commands and timers handles every kind.

mypy proves the ``match``/``assert_never`` dispatches exhaustive; these tests drive each
dispatcher with a sample of every kind, so a kind that reaches ``assert_never`` at run time (or
a new kind nobody gave a sample) fails here too. Adding a tick, command or timer kind: add its
sample below, then make every dispatcher it reaches handle it.
"""

from __future__ import annotations

import asyncio
from typing import Any, get_args

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCollected,
    CommandFinish,
    CommandPublish,
    CommandResolveWaiter,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.graph import handler_map
from stepwork._core.reducer import Reducer
from stepwork._core.specs import StepSpec, WorkflowSpec
from stepwork._core.state import Delivery, Invocation
from stepwork._core.ticks import (
    Tick,
    TickCancel,
    TickCollect,
    TickEvent,
    TickKind,
    TickOnce,
    TickPublish,
    TickStart,
    TickStateWrite,
    TickStepDone,
    TickStepFailed,
    TickTimer,
    TickWait,
    tick_invocation,
)
from stepwork._core.timers import RetryTimer, RunTimer, StepTimer, Timer, WaitTimer, timer_id
from stepwork._drawing.trace import build_trace
from stepwork._runtime.time_travel import _effects, _summary
from stepwork._stores.state_codec import dump_run_state, load_run_state
from stepwork._stores.tick_codec import TICK_KINDS, dump_tick, field_codecs, load_tick
from stepwork._stores.type_registry import TypeRegistry


class Ping(Event):
    n: int = 0


TICKS: dict[type, Tick] = {
    TickStart: TickStart(0.0, "run-1", StartEvent(), 60.0),
    TickEvent: TickEvent(1.0, Ping(n=1), None, None, "key-1"),
    TickStepDone: TickStepDone(1.0, 0, None, "s"),
    TickStepFailed: TickStepFailed(1.0, 0, ValueError("boom"), 2.0, False, "s"),
    TickPublish: TickPublish(1.0, 0, Ping(n=2)),
    TickCollect: TickCollect(1.0, 0, "default", Ping(n=3), 1, ((Ping, 1),)),
    TickWait: TickWait(1.0, 0, "w", Ping, (("n", 4),), Ping(n=5), 3.0),
    TickStateWrite: TickStateWrite(1.0, {"a": 1}),
    TickTimer: TickTimer(1.0, "run"),
    TickCancel: TickCancel(1.0),
    TickOnce: TickOnce(1.0, 0, 0, "llm", {"value": {"answer": 42}}),
}

INVOCATION = Invocation(0, Delivery("s", StartEvent()), 0, 0.0)
COMMANDS: dict[type, Command] = {
    CommandRunStep: CommandRunStep(INVOCATION),
    CommandCancelStep: CommandCancelStep(99),
    CommandPublish: CommandPublish(Ping(n=6)),
    CommandSchedule: CommandSchedule("retry:99", 1e12),
    CommandCancelTimer: CommandCancelTimer("retry:99"),
    CommandResolveWaiter: CommandResolveWaiter(99, "w", None),
    CommandCollected: CommandCollected(99, None),
    CommandFinish: CommandFinish(StopEvent(result="ended by the sample"), None),
}

TIMERS: dict[type, Timer] = {
    RunTimer: RunTimer(5.0),
    RetryTimer: RetryTimer(6.0, "s", 3),
    WaitTimer: WaitTimer(7.0, "w"),
    StepTimer: StepTimer(8.0, 4),
}


def test_every_kind_has_a_sample() -> None:
    assert set(TICKS) == set(get_args(Tick))
    assert set(COMMANDS) == set(get_args(Command))
    assert set(TIMERS) == set(get_args(Timer))
    assert {cls.kind for cls in get_args(Tick)} == set(get_args(TickKind))
    assert set(TICK_KINDS.values()) == set(get_args(Tick))


def reducer() -> Reducer:
    specs = {"s": StepSpec("s", accepted=(StartEvent,), returns=(StopEvent,))}
    return Reducer(WorkflowSpec("W", specs, StartEvent, StopEvent, False, handler_map(specs)))


def test_the_reducer_takes_every_tick_kind() -> None:
    for tick in TICKS.values():
        rules = reducer()
        state = rules.new_state("run-1")
        rules.reduce(state, TICKS[TickStart])  # invocation 0 of step s is running
        rules.reduce(state, tick)
        assert state.tick_count == 2


def test_the_tick_codec_round_trips_every_tick_kind() -> None:
    registry = TypeRegistry([StartEvent, StopEvent, Ping])
    for tick in TICKS.values():
        field_codecs(tick.kind)
        record = dump_tick(tick)
        assert record["kind"] == tick.kind
        again = load_tick(record, registry, ["s"])
        assert type(again) is type(tick)
        assert dump_tick(again) == record


def test_history_describes_every_tick_kind_in_its_own_words() -> None:
    summaries = {kind: _summary(tick, dump_tick(tick)) for kind, tick in TICKS.items()}
    assert summaries.pop(TickCancel) == "cancelled by the caller"
    assert "cancelled by the caller" not in summaries.values()
    assert len(set(summaries.values())) == len(summaries)


def test_history_and_traces_take_every_command_and_tick_kind() -> None:
    effects = _effects(list(COMMANDS.values()))
    assert effects[0] == "started step s (invocation 0)"
    assert effects[-1] == "run ended with StopEvent"
    # A trace folds ticks and watches commands: every kind, in one run, then after its end.
    trace = build_trace(reducer(), [*TICKS.values(), *TICKS.values()])
    assert trace.ending is not None


def test_only_ticks_a_step_produces_belong_to_an_invocation() -> None:
    owned = {kind for kind, tick in TICKS.items() if tick_invocation(tick) is not None}
    assert owned == {TickStepDone, TickStepFailed, TickPublish, TickCollect, TickWait, TickOnce}


def test_every_timer_kind_keeps_its_journaled_id_and_snapshot_shape() -> None:
    ids = {kind: timer_id(timer) for kind, timer in TIMERS.items()}
    assert ids == {RunTimer: "run", RetryTimer: "retry:3", WaitTimer: "wait:w", StepTimer: "step:4"}
    rules = reducer()
    state = rules.new_state("run-1")
    state.timers = {timer_id(timer): timer for timer in TIMERS.values()}
    dumped = dump_run_state(state)
    # The shape snapshots written before timers were typed have, and still load from.
    assert dumped["timers"] == {
        "run": {"at": 5.0, "kind": "run", "ref": None},
        "retry:3": {"at": 6.0, "kind": "retry", "ref": ["s", 3]},
        "wait:w": {"at": 7.0, "kind": "wait", "ref": "w"},
        "step:4": {"at": 8.0, "kind": "step", "ref": 4},
    }
    loaded = load_run_state(dumped, TypeRegistry([StartEvent, StopEvent]), ["s"])
    assert loaded.timers == state.timers


class Waits(Workflow):
    def __init__(self, waiting: asyncio.Event) -> None:
        super().__init__(timeout=None, disable_validation=True)
        self.waiting = waiting

    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        self.waiting.set()
        await ctx.wait_for_event(Ping, timeout=None)
        return StopEvent(result="not reached")

    @step
    async def s(self, ev: Ping) -> None:
        return None  # what the sample CommandRunStep runs (its outcome is ignored)


async def test_the_driver_carries_out_every_command_kind() -> None:
    waiting = asyncio.Event()
    handler = Waits(waiting).run()
    driver: Any = handler._driver
    await waiting.wait()
    stream = handler.stream_events()
    driver.execute(list(COMMANDS.values()))
    assert await handler == "ended by the sample"
    seen = [event async for event in stream]
    assert Ping(n=6) in seen
