"""Every cut of a golden log: a checkpoint there plus the ticks after it folds into the state
folding every tick gives (the property version is ``core/test_checkpoint_fold.py``)."""

from __future__ import annotations

import json

import pytest

from golden.flows import FLOWS
from golden.test_golden import load_log, paths
from stepwork._core.reducer import fold
from stepwork._runtime.snapshot import dump_run_state, registry_for
from stepwork._stores.checkpoint_codec import (
    decode_checkpoint,
    dump_checkpoint,
    load_checkpoint_state,
)


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_every_cut_of_a_golden_log_folds_into_the_full_fold(name: str) -> None:
    workflow = FLOWS[name]()
    reducer = workflow.definition().reducer
    ticks = [e.tick for e in load_log(name, paths(name)[1])]
    full = dump_run_state(fold(reducer, ticks, reducer.new_state("")))
    for cut in range(1, len(ticks) + 1):
        head = fold(reducer, ticks[:cut], reducer.new_state(""))
        stored = dump_checkpoint(head, cut - 1, ())
        stored = decode_checkpoint("", cut - 1, json.dumps(stored.record))
        state, _ = load_checkpoint_state(
            "", stored, registry_for(workflow), list(reducer.spec.steps)
        )
        tail = fold(reducer, ticks[cut:], state)
        assert dump_run_state(tail) == full, f"cut at {cut}"
        assert str(tail.error) == str(fold(reducer, ticks).error)
