"""A run's checkpoint record: its folded ``RunState`` as of one tick, as versioned JSON.

A checkpoint lets a process that resumes or takes over a run fold only the ticks after it
(``durable.py``). It holds what folding the ticks before it would give, and nothing else:

- ``state``: the reducer's state (``dump_run_state``), which also holds ``ctx.store``;
- ``error``: the run's error as the tick codec writes values, so a failed run read back from a
  checkpoint raises the same class as one folded from its ticks;
- ``sent``: the idempotency keys of the events sent in so far, so a retried send counts once
  whichever way the run was rebuilt.

Invariants:
- ``v`` is :data:`CHECKPOINT_SCHEMA`; a record of another version, or one that does not load,
  raises ``JournalCorruptError`` (``record="checkpoint"``), and the reader folds every tick
  instead. A checkpoint is an optimisation: it is never the only copy of anything.
- Loading checks that the state covers exactly ``seq + 1`` ticks (its tick counter).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from stepwork._core.errors import ContextSerdeError, JournalCorruptError, StateSerializationError
from stepwork._core.state import RunState
from stepwork._stores.codec import TypeRegistry, dump_value, load_value
from stepwork._stores.protocol import Checkpoint
from stepwork._stores.state_codec import dump_run_state, load_run_state

__all__ = [
    "CHECKPOINT_SCHEMA",
    "bad_checkpoint",
    "decode_checkpoint",
    "dump_checkpoint",
    "load_checkpoint_state",
]

CHECKPOINT_SCHEMA = 1
"""The checkpoint record format this version writes and reads."""


def dump_checkpoint(state: RunState, seq: int, sent: Iterable[str]) -> Checkpoint:
    """A checkpoint of ``state``, which has folded the run's ticks ``0..seq``.

    Raises:
        StateSerializationError: If something in the state cannot be written as JSON.
    """
    error: Any = None
    if state.error is not None:
        try:
            error = dump_value(state.error, path="error", label="run error")
        except StateSerializationError:
            error = None  # the state's own summary of it is kept
    record = {
        "v": CHECKPOINT_SCHEMA,
        "seq": seq,
        "state": dump_run_state(state),
        "error": error,
        "sent": sorted(sent),
    }
    return Checkpoint(seq, record)


def load_checkpoint_state(
    run_id: str, checkpoint: Checkpoint, registry: TypeRegistry, specs: Collection[str]
) -> tuple[RunState, set[str]]:
    """The state and sent idempotency keys a checkpoint holds.

    Raises:
        JournalCorruptError: If the record is another version, malformed, names classes or
            steps this workflow does not have, or does not cover ``seq + 1`` ticks.
    """
    record = checkpoint.record
    version = record.get("v")
    if version != CHECKPOINT_SCHEMA:
        raise bad_checkpoint(
            run_id, checkpoint.seq, f"its format is version {version!r}, not {CHECKPOINT_SCHEMA}"
        )
    try:
        state = load_run_state(record["state"], registry, specs)
        if record.get("error") is not None:
            state.error = load_value(record["error"], registry)
        sent = {str(key) for key in record["sent"]}
    except (ContextSerdeError, KeyError, TypeError, ValueError) as error:
        raise bad_checkpoint(run_id, checkpoint.seq, f"it cannot be read: {error!r}") from error
    if record.get("seq") != checkpoint.seq or state.tick_count != checkpoint.seq + 1:
        raise bad_checkpoint(
            run_id,
            checkpoint.seq,
            f"it covers {state.tick_count} ticks, not the {checkpoint.seq + 1} it is stored for",
        )
    return state, sent


def decode_checkpoint(run_id: str, seq: int, text: Any) -> Checkpoint:
    """A stored checkpoint, read back from its JSON text.

    Raises:
        JournalCorruptError: If the text is not a JSON object.
    """
    try:
        if isinstance(text, bytes | bytearray | memoryview):
            text = bytes(text).decode("utf-8")
        record = json.loads(text)
    except (TypeError, ValueError) as error:
        raise bad_checkpoint(run_id, seq, f"it is not valid JSON: {error}") from error
    if not isinstance(record, dict):
        raise bad_checkpoint(run_id, seq, f"expected a JSON object, got {type(record).__name__}")
    return Checkpoint(seq, record)


def bad_checkpoint(run_id: str, seq: int, problem: str) -> JournalCorruptError:
    """The error for run ``run_id``'s checkpoint at ``seq`` that cannot be used."""
    return JournalCorruptError(
        f"The checkpoint of run {run_id!r} at seq {seq} cannot be used: {problem}. The run is "
        "rebuilt from all its ticks instead; the next checkpoint replaces this one.",
        run_id=run_id,
        record="checkpoint",
        seq=seq,
    )
