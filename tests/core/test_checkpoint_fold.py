"""A checkpoint plus the ticks after it folds into the same state as every tick from the start.

Checked at a cut hypothesis picks in generated runs (the generator of ``test_properties``;
``golden/test_golden_checkpoints.py`` cuts the golden logs everywhere): the checkpoint goes
through its JSON record and back, as it does through a store.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import REPLAY_STEPS, SENDABLE, A, Answer, Ask, B, C, D, _play, make

from stepwork._core.errors import JournalCorruptError
from stepwork._core.events import Event, StartEvent, StopEvent
from stepwork._core.reducer import Reducer, fold
from stepwork._core.state import RunState
from stepwork._core.ticks import Tick
from stepwork._runtime.snapshot import dump_run_state
from stepwork._stores.checkpoint_codec import (
    CHECKPOINT_SCHEMA,
    decode_checkpoint,
    dump_checkpoint,
    load_checkpoint_state,
)
from stepwork._stores.protocol import Checkpoint
from stepwork._stores.type_registry import TypeRegistry

REGISTRY = TypeRegistry(
    [A, B, C, D, Ask, Answer, Event, StartEvent, StopEvent, *map(type, SENDABLE)]
)


def through_json(checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint as a store gives it back."""
    return decode_checkpoint("run-1", checkpoint.seq, json.dumps(checkpoint.record))


def checkpoint_then_tail(
    reducer: Reducer, ticks: list[Tick], cut: int, registry: Any, run_id: str = "run-1"
) -> RunState:
    """Fold ``ticks[:cut]``, checkpoint it, load it back and fold the rest onto it."""
    head = fold(reducer, ticks[:cut], reducer.new_state(run_id))
    stored = through_json(dump_checkpoint(head, cut - 1, {"k1"}))
    state, sent = load_checkpoint_state(run_id, stored, registry, list(reducer.spec.steps))
    assert sent == {"k1"}
    return fold(reducer, ticks[cut:], state)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data(), steps=st.integers(min_value=0, max_value=60))
def test_a_checkpoint_and_its_tail_fold_into_the_full_fold(data: st.DataObject, steps: int) -> None:
    reducer, live = make(*REPLAY_STEPS, human=data.draw(st.booleans(), label="human"))
    ticks = _play(data, reducer, live, steps)
    cut = data.draw(st.integers(min_value=1, max_value=len(ticks)), label="checkpoint after")
    tail = checkpoint_then_tail(reducer, ticks, cut, REGISTRY)
    assert dump_run_state(tail) == dump_run_state(live)
    assert tail.tick_count == len(ticks)


def test_a_checkpoint_of_another_version_or_count_is_refused() -> None:
    reducer, state = make(*REPLAY_STEPS)
    ticks = _play_fixed(reducer, state)
    good = dump_checkpoint(state, len(ticks) - 1, ())
    steps = list(reducer.spec.steps)
    newer = Checkpoint(good.seq, {**good.record, "v": CHECKPOINT_SCHEMA + 1})
    with pytest.raises(JournalCorruptError, match="version 2, not 1") as caught:
        load_checkpoint_state("run-1", newer, REGISTRY, steps)
    assert (caught.value.record, caught.value.seq) == ("checkpoint", good.seq)
    shifted = Checkpoint(good.seq + 1, {**good.record, "seq": good.seq + 1})
    with pytest.raises(JournalCorruptError, match=f"covers {len(ticks)} ticks"):
        load_checkpoint_state("run-1", shifted, REGISTRY, steps)
    broken = Checkpoint(good.seq, {**good.record, "state": {"steps": {}}})
    with pytest.raises(JournalCorruptError, match="cannot be read"):
        load_checkpoint_state("run-1", broken, REGISTRY, steps)
    with pytest.raises(JournalCorruptError, match="not valid JSON"):
        decode_checkpoint("run-1", 3, '{"v": 1, "sta')


def _play_fixed(reducer: Reducer, state: RunState) -> list[Tick]:
    from stepwork._core.ticks import TickStart

    tick = TickStart(0.0, "run-1", StartEvent(), None)
    reducer.reduce(state, tick)
    return [tick]
