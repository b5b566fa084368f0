"""The parameters of PostgreSQL's one-statement append (``postgres_sql.APPEND``), and of the
statement that creates a new run's row with it."""

from __future__ import annotations

from typing import Any

from stepwork._stores.postgres_sql import CREATE_RUN, CREATE_RUN_HELD
from stepwork._stores.protocol import JournalBatch, net_timers
from stepwork._stores.records import encode_records, encode_value

__all__ = ["append_args", "create_args"]


def append_args(
    batch: JournalBatch, now: float, append_channel: str, runnable_channel: str
) -> tuple[Any, ...]:
    """``APPEND``'s ``$1`` to ``$19`` for ``batch``, written at ``now``.

    Raises:
        StoreError: If a record is not a JSON object (tick records need a ``kind``).
    """
    run_id, seq, offset = batch.run_id, batch.first_seq, batch.first_offset
    ticks = encode_records(run_id, batch.ticks, "tick", seq)
    events = encode_records(run_id, batch.events, "event", offset)
    result = None if batch.result is None else encode_value(run_id, batch.result, "result")
    error = None if batch.error is None else encode_value(run_id, batch.error, "error")
    set_timers, cancel_timers = net_timers(batch.timers)
    checkpoint = batch.checkpoint
    saved = (
        (None, None)
        if checkpoint is None
        else (checkpoint.seq, encode_value(run_id, checkpoint.record, "checkpoint"))
    )
    return (
        run_id, seq, ticks, offset, events, batch.status, result, error, now,
        batch.epoch, cancel_timers, list(set_timers), [float(at) for at in set_timers.values()],
        None if batch.runnable_at is None else float(batch.runnable_at),
        append_channel, runnable_channel, *saved, list(batch.consumed),
    )  # fmt: skip


def create_args(batch: JournalBatch) -> tuple[Any, ...]:
    """The statement and parameters that create ``batch``'s new run (held by ``batch.lease``
    when it has one)."""
    workflow, created_at, lease = batch.workflow, float(batch.created_at), batch.lease
    if lease is None:
        return (CREATE_RUN, batch.run_id, workflow, created_at, batch.version, batch.parent_run_id)
    return (CREATE_RUN_HELD, batch.run_id, workflow, created_at, lease.owner,
            float(lease.expires), lease.epoch, batch.version, batch.parent_run_id)  # fmt: skip
