"""The parameters of PostgreSQL's one-statement append (``postgres_sql.APPEND``), of its
group-commit form for many runs (``APPEND_MANY``), and of the statement that creates a new
run's row with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stepwork._stores.postgres_sql import CREATE_RUN, CREATE_RUN_HELD, CREATE_WITH_RECORDS
from stepwork._stores.protocol import JournalBatch, net_timers
from stepwork._stores.records import encode_records, encode_value

__all__ = ["append_args", "create_args", "create_with_records_args", "many_args", "notify_args"]


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


def notify_args(batch: JournalBatch, now: float, runnable_channel: str) -> tuple[Any, ...] | None:
    """``DELIVER``'s parameters for ``batch.notify`` (``None`` without one): it stores
    nothing for a run that is gone or ended.

    Raises:
        StoreError: If the notice's record cannot be written as JSON.
    """
    notice = batch.notify
    if notice is None:
        return None
    record = encode_value(notice.run_id, notice.record, "inbox record")
    return (notice.run_id, "event", record, notice.idempotency_key, None, now, runnable_channel)


def many_args(each: Sequence[tuple[Any, ...]], now: float) -> tuple[Any, ...]:
    """``APPEND_MANY``'s ``$1`` to ``$29`` for batches whose ``APPEND`` parameters (from
    :func:`append_args`, each for a different run) are ``each``, written at ``now``."""
    columns: list[list[Any]] = [[] for _ in range(14)]
    flat: list[list[Any]] = [[] for _ in range(12)]
    ticks_i, ticks_seq, ticks, set_i, set_id, set_at, gone_i, gone_id, consumed = flat[:9]
    events_i, events_offset, events = flat[9:]
    for i, args in enumerate(each, 1):
        (run_id, seq, tick_texts, offset, event_texts, status, result, error, _, epoch,
         cancel, set_ids, set_ats, runnable_at, _, _, saved_seq, saved, taken) = args  # fmt: skip
        row = (run_id, seq, len(tick_texts), offset, len(event_texts), status, result, error,
               epoch, runnable_at, saved_seq, saved, status is not None or bool(cancel),
               status is not None or bool(taken))  # fmt: skip
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        ticks_i += [i] * len(tick_texts)
        ticks_seq += range(seq, seq + len(tick_texts))
        ticks += tick_texts
        events_i += [i] * len(event_texts)
        events_offset += range(offset, offset + len(event_texts))
        events += event_texts
        set_i += [i] * len(set_ids)
        set_id += set_ids
        set_at += set_ats
        gone_i += [i] * len(cancel)
        gone_id += cancel
        consumed += taken
    channels = each[0][14:16]
    return (
        *columns, now, ticks_i, ticks_seq, ticks, set_i, set_id, set_at, gone_i, gone_id,
        consumed, *channels, events_i, events_offset, events,
    )  # fmt: skip


def create_with_records_args(batch: JournalBatch, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """``CREATE_WITH_RECORDS`` and its parameters for ``batch``, which creates its run and has
    ``APPEND`` parameters ``args``; ``None`` if the batch does more than a new run's first
    write (ends it, sets timers, a checkpoint, or deletes inbox messages)."""
    if batch.status is not None or batch.timers or batch.checkpoint or batch.consumed:
        return None
    if batch.notify is not None:
        return None  # the inbox message goes with it in the transaction path
    lease, first = batch.lease, batch.first_seq or batch.first_offset
    if first:
        return None  # refused by the transaction path, which says why
    held = (None, None, None) if lease is None else (lease.owner, float(lease.expires), lease.epoch)
    run_id, _, ticks, _, events, *_ = args
    return (CREATE_WITH_RECORDS, run_id, batch.workflow, float(batch.created_at), batch.version,
            *held, ticks, events, args[13], args[8], args[14], args[15],
            batch.parent_run_id)  # fmt: skip
