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
        dumped = [dump_tick(t) for t in handler.ticks]
        for tick in dumped:
            tick.pop("traceback", None)  # machine-specific paths
        log.write_text("".join(json.dumps(d) + "\n" for d in dumped))
    registry = registry_for(workflow)
    ticks = [load_tick(json.loads(line), registry) for line in log.read_text().splitlines()]
    reducer = workflow.definition().reducer
    folded = fold(reducer, ticks, reducer.new_state(""))
    if REGENERATE:
        # Folded from the log as written (without tracebacks), which the live run matches.
        state_file.write_text(json.dumps(dump_run_state(folded), indent=1) + "\n")
    assert dump_run_state(folded) == json.loads(state_file.read_text())


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_a_live_run_today_records_the_same_ticks(name: str) -> None:
    handler = await record(name)
    log, _ = paths(name)
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    live = [dump_tick(t) for t in handler.ticks]
    for tick in live:
        if tick["kind"] == "step_failed":
            # Tracebacks name this checkout's paths: checked here, left out of the logs (which
            # so also show that journals written before tracebacks were kept still load).
            trace = tick.pop("traceback")
            message = tick["error"]["__exception__"]["exception_message"]
            assert trace.startswith("Traceback (most recent call last):")
            assert trace.rstrip().endswith(message)
    assert live == recorded
