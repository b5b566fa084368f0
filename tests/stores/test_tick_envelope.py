"""Tick envelopes in journal records: round trips through the codec and every store, records
written before envelopes, and records of a newer schema."""

from __future__ import annotations

import json
import os
from types import MappingProxyType

import pytest

from stepwork import StartEvent
from stepwork._core.envelope import TICK_SCHEMA, TickEnvelope
from stepwork._core.ticks import TickEvent, TickStart, TickTimer
from stepwork._runtime.envelopes import Stamper, process_writer_id
from stepwork._stores.protocol import JournalBatch, Store
from stepwork._stores.tick_codec import dump_envelope, dump_tick, load_envelope
from stepwork._stores.type_registry import TypeRegistry
from stepwork.errors import ContextSerdeError, JournalCorruptError

REGISTRY = TypeRegistry.default()
TRACE = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


def envelopes() -> list[TickEnvelope]:
    return [
        TickEnvelope(TickStart(1.0, "r", StartEvent(x=1), None), writer="h:1:aa", meta=TRACE),
        TickEnvelope(TickEvent(2.0, StartEvent()), writer="h:2:bb", epoch=7),
        TickEnvelope(TickTimer(3.0, "run")),
    ]


def test_an_envelope_round_trips_through_json() -> None:
    for envelope in envelopes():
        record = json.loads(json.dumps(dump_envelope(envelope)))
        assert record["env"]["v"] == TICK_SCHEMA
        back = load_envelope(record, REGISTRY)
        assert (back.schema, back.writer, back.epoch, dict(back.meta)) == (
            TICK_SCHEMA,
            envelope.writer,
            envelope.epoch,
            dict(envelope.meta),
        )
        assert dump_tick(back.tick) == dump_tick(envelope.tick)


def test_defaults_are_left_out_of_the_record_but_the_version_never_is() -> None:
    assert dump_envelope(TickEnvelope(TickTimer(3.0, "run")))["env"] == {"v": TICK_SCHEMA}


def test_a_record_without_an_envelope_reads_as_schema_1() -> None:
    back = load_envelope(dump_tick(TickTimer(3.0, "run")), REGISTRY)
    assert (back.schema, back.writer, back.epoch, dict(back.meta)) == (1, "", 0, {})
    assert back.tick == TickTimer(3.0, "run")


def test_a_record_of_a_newer_schema_is_refused_and_says_to_upgrade() -> None:
    record = dump_envelope(TickEnvelope(TickTimer(3.0, "run")))
    record["env"] = {"v": TICK_SCHEMA + 1, "lease": {"owner": "x"}}
    with pytest.raises(JournalCorruptError, match=r"newer stepwork.*upgrade"):
        load_envelope(record, REGISTRY)


@pytest.mark.parametrize(
    "env",
    [{"writer": "w"}, {"v": "2"}, {"v": 2, "epoch": "1"}, {"v": 2, "meta": {"a": 1}}, [2]],
)
def test_a_malformed_envelope_is_refused(env: object) -> None:
    record = {**dump_tick(TickTimer(3.0, "run")), "env": env}
    with pytest.raises(ContextSerdeError, match="envelope"):
        load_envelope(record, REGISTRY)


def test_an_envelope_and_its_meta_are_immutable() -> None:
    meta = {"k": "v"}
    envelope = TickEnvelope(TickTimer(3.0, "run"), meta=meta)
    meta["k"] = "changed"
    assert envelope.meta == {"k": "v"} and isinstance(envelope.meta, MappingProxyType)
    with pytest.raises(AttributeError):
        envelope.epoch = 3  # type: ignore[misc]


def test_the_stamper_names_this_process_its_epoch_and_the_meta_provider() -> None:
    stamper = Stamper(meta=lambda tick: {"kind": tick.kind})
    stamper.epoch = 4
    envelope = stamper.stamp(TickTimer(3.0, "run"))
    assert (envelope.writer, envelope.epoch, dict(envelope.meta)) == (
        process_writer_id(),
        4,
        {"kind": "timer"},
    )
    host_pid = process_writer_id().rsplit(":", 1)[0]
    assert host_pid.endswith(f":{os.getpid()}")


async def test_envelopes_round_trip_through_every_store(store: Store) -> None:
    written = envelopes()
    records = [dump_envelope(e) for e in written]
    await store.append(JournalBatch("r", 0, records, workflow="flow", created_at=1.0))
    loaded = [load_envelope(r, REGISTRY) for r in await store.load_ticks("r")]
    assert [(e.writer, e.epoch, dict(e.meta)) for e in loaded] == [
        (e.writer, e.epoch, dict(e.meta)) for e in written
    ]
    assert [dump_tick(e.tick) for e in loaded] == [dump_tick(e.tick) for e in written]
