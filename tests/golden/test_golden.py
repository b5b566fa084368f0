"""Golden tick logs: recorded runs replayed through the reducer, and re-recorded to compare.

Set STEPWORK_REGENERATE_GOLDEN=1 to rewrite the files after an intended behaviour change.
"""

from __future__ import annotations

import json
import os
import pathlib

import pytest

from golden.flows import FLOWS, record
from stepwork._core.reducer import fold
from stepwork._runtime.snapshot import dump_run_state, registry_for
from stepwork._stores.tick_codec import dump_tick, load_tick

HERE = pathlib.Path(__file__).parent
REGENERATE = os.environ.get("STEPWORK_REGENERATE_GOLDEN") == "1"


def paths(name: str) -> tuple[pathlib.Path, pathlib.Path]:
    return HERE / f"{name}.jsonl", HERE / f"{name}.state.json"


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_recorded_ticks_fold_into_the_recorded_state(name: str) -> None:
    workflow = FLOWS[name]()
    log, state_file = paths(name)
    if REGENERATE:
        handler = await record(name)
        driver = handler._driver
        assert driver is not None
        log.write_text("".join(json.dumps(dump_tick(t)) + "\n" for t in handler.ticks))
        state_file.write_text(json.dumps(dump_run_state(driver.state), indent=1) + "\n")
    registry = registry_for(workflow)
    ticks = [load_tick(json.loads(line), registry) for line in log.read_text().splitlines()]
    reducer = workflow._definition().reducer
    folded = fold(reducer, ticks, reducer.new_state(""))
    assert dump_run_state(folded) == json.loads(state_file.read_text())


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_a_live_run_today_records_the_same_ticks(name: str) -> None:
    handler = await record(name)
    log, _ = paths(name)
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert [dump_tick(t) for t in handler.ticks] == recorded
