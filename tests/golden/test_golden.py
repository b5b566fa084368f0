"""Golden tick logs: recorded runs replayed through the reducer, and re-recorded to compare.

``v2/*.jsonl`` are today's format: each record carries its envelope (``env``) and public class
names (``stepwork.events.StartEvent``). ``*.jsonl`` beside this file are the same runs as
written before envelopes and public names existed (``stepwork._core.events.StartEvent``, no
``env``); they are never regenerated, so journals written by earlier versions stay readable.

Set STEPWORK_REGENERATE_GOLDEN=1 to rewrite ``v2/`` and the states after an intended
behaviour change.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

import pytest

from golden.flows import FLOWS, record
from stepwork._core.envelope import TICK_SCHEMA, TickEnvelope
from stepwork._core.reducer import fold
from stepwork._runtime.envelopes import process_writer_id
from stepwork._runtime.snapshot import dump_run_state, registry_for
from stepwork._runtime.state_store import DictState
from stepwork._stores.tick_codec import dump_envelope, load_envelope

HERE = pathlib.Path(__file__).parent
REGENERATE = os.environ.get("STEPWORK_REGENERATE_GOLDEN") == "1"
#: The writer recorded in the golden logs (a live run's is this process's id).
WRITER = "golden:1:00000000"


def paths(name: str) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    """The log written before envelopes, today's log, and the state both fold into."""
    return HERE / f"{name}.jsonl", HERE / "v2" / f"{name}.jsonl", HERE / f"{name}.state.json"


def live_records(envelopes: list[TickEnvelope]) -> list[dict[str, Any]]:
    """A live run's records as the golden logs keep them: a fixed writer, no tracebacks."""
    records = [dump_envelope(dataclasses.replace(e, writer=WRITER)) for e in envelopes]
    for tick in records:
        if tick["kind"] == "step_failed":
            # Tracebacks name this checkout's paths: checked here, left out of the logs (which
            # so also show that journals written before tracebacks were kept still load).
            trace = tick.pop("traceback")
            message = tick["error"]["__exception__"]["exception_message"]
            assert trace.startswith("Traceback (most recent call last):")
            assert trace.rstrip().endswith(message)
    return records


def load_log(name: str, log: pathlib.Path) -> list[TickEnvelope]:
    registry = registry_for(FLOWS[name]())
    return [load_envelope(json.loads(line), registry) for line in log.read_text().splitlines()]


def folded_state(name: str, envelopes: list[TickEnvelope]) -> Any:
    reducer = FLOWS[name]().definition().reducer
    return dump_run_state(fold(reducer, [e.tick for e in envelopes], reducer.new_state("")))


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_recorded_ticks_fold_into_the_recorded_state(name: str) -> None:
    _, log, state_file = paths(name)
    if REGENERATE:
        handler = await record(name)
        records = live_records(handler.driver.ticks.envelopes)
        log.parent.mkdir(exist_ok=True)
        log.write_text("".join(json.dumps(r) + "\n" for r in records))
    envelopes = load_log(name, log)
    assert {(e.schema, e.writer, e.epoch) for e in envelopes} == {(TICK_SCHEMA, WRITER, 0)}
    folded = folded_state(name, envelopes)
    if REGENERATE:
        # Folded from the log as written (without tracebacks), which the live run matches.
        state_file.write_text(json.dumps(folded, indent=1) + "\n")
    assert folded == json.loads(state_file.read_text())


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_journals_written_before_the_envelope_still_fold_into_the_same_state(
    name: str,
) -> None:
    old_log, log, state_file = paths(name)
    old_text = old_log.read_text()
    assert '"env"' not in old_text and "stepwork._core.events." in old_text  # the old format
    envelopes = load_log(name, old_log)
    assert {(e.schema, e.writer, e.epoch, len(e.meta)) for e in envelopes} == {(1, "", 0, 0)}
    today = load_log(name, log)
    assert [(e.tick.kind, e.tick.at) for e in envelopes] == [
        (e.tick.kind, e.tick.at) for e in today
    ]
    folded, expected = folded_state(name, envelopes), json.loads(state_file.read_text())
    if folded["state"] is not None:
        # ctx.store's JSON is kept as it was written, under the old name, which still resolves.
        old, new = folded["state"]["state_type"], expected["state"]["state_type"]
        registry = registry_for(FLOWS[name]()).with_types(DictState)  # as ctx.store loads it
        assert old.startswith("stepwork._") and registry.lookup(old) is registry.lookup(new)
        folded["state"]["state_type"] = new
    assert folded == expected


@pytest.mark.parametrize("name", sorted(FLOWS))
async def test_a_live_run_today_records_the_same_ticks(name: str) -> None:
    handler = await record(name)
    _, log, _ = paths(name)
    envelopes = handler.driver.ticks.envelopes
    assert {(e.writer, e.epoch) for e in envelopes} == {(process_writer_id(), 0)}
    recorded = [json.loads(line) for line in log.read_text().splitlines()]
    assert live_records(envelopes) == recorded
