"""Tick records: every kind round-trips; bad records get errors that say what is wrong."""

from __future__ import annotations

import json

import pytest

from stepwork import StartEvent
from stepwork._core.state import Delivery, RunState, StepRuntime
from stepwork._core.ticks import TickCollect, TickStart, TickStepFailed, TickWait
from stepwork._stores.state_codec import dump_run_state
from stepwork._stores.tick_codec import TICK_KINDS, dump_tick, load_tick
from stepwork._stores.type_registry import TypeRegistry
from stepwork.errors import ContextSerdeError
from stepwork.events import HumanResponseEvent

REGISTRY = TypeRegistry.default()


def round_trip(tick: object) -> object:
    return load_tick(json.loads(json.dumps(dump_tick(tick))), REGISTRY)  # type: ignore[arg-type]


def test_ticks_with_types_exceptions_and_requirements_round_trip() -> None:
    wait = TickWait(1.0, 3, "w", HumanResponseEvent, (("who", {"a": (1, 2)}),), StartEvent(), 5.0)
    assert round_trip(wait) == wait
    collect = TickCollect(1.0, 3, "default", StartEvent(x=1), 2, ((StartEvent, 2),))
    assert round_trip(collect) == collect
    failed = round_trip(TickStepFailed(2.0, 1, KeyError("k"), 1.5, False))
    assert isinstance(failed, TickStepFailed)
    assert isinstance(failed.error, KeyError) and failed.error.args == ("k",)


def test_a_start_tick_carries_its_base_state_only_when_it_has_one() -> None:
    base = RunState(run_id="r", steps={"a": StepRuntime()}, state={"state_data": {"n": 1}})
    base.steps["a"].queue.append(Delivery("a", StartEvent(x=1), key=4))
    plain = TickStart(1.0, "r", StartEvent(), None)
    assert "base" not in dump_tick(plain) and round_trip(plain) == plain
    loaded = round_trip(TickStart(1.0, "r", None, 5.0, base))
    assert isinstance(loaded, TickStart) and loaded.base is not None
    assert dump_run_state(loaded.base) == dump_run_state(base)
    record = json.loads(json.dumps(dump_tick(TickStart(1.0, "r", None, 5.0, base))))
    with pytest.raises(ContextSerdeError, match="steps this workflow does not have: a"):
        load_tick(record, REGISTRY, ["b"])


def test_every_kind_is_known() -> None:
    assert sorted(TICK_KINDS) == [
        "cancel",
        "collect",
        "event",
        "once",
        "publish",
        "start",
        "state",
        "step_done",
        "step_failed",
        "timer",
        "wait",
    ]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"kind": "teleport", "at": 1.0}, "Unknown tick kind 'teleport'"),
        ([1, 2], "must be a JSON object"),
        ({"kind": "timer", "at": 1.0}, "Malformed 'timer' tick record"),
        (
            {
                "kind": "wait",
                "at": 1.0,
                "invocation": 0,
                "waiter_id": "w",
                "event_type": "no.such.Type",
            },
            "no.such.Type",
        ),
    ],
)
def test_bad_records_are_refused_with_a_clear_error(record: object, message: str) -> None:
    with pytest.raises(ContextSerdeError, match=message):
        load_tick(record, REGISTRY)
