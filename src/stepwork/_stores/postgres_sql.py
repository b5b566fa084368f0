"""The SQL ``PostgresStore`` runs, and how its rows become :class:`RunRecord` objects.

Every statement takes positional ``$n`` parameters, so asyncpg prepares it once per pooled
connection. Table names are unqualified: the connection's ``search_path`` picks the schema.
"""

from __future__ import annotations

from typing import Any

from stepwork._stores import records
from stepwork._stores.protocol import RunRecord

__all__ = [
    "APPEND", "APPEND_MANY", "CREATE_RUN", "CREATE_RUN_HELD", "CREATE_WITH_RECORDS", "DELIVER",
    "GET_RUN", "LIST_RUNS", "LOCK_RUNS",
    "LOAD_CHECKPOINT", "LOAD_EVENTS", "LOAD_INBOX", "LOAD_TAIL", "LOAD_TICKS", "PRUNE",
    "RUN_COLUMN_COUNT", "RUN_COLUMNS", "RUN_IS_FRESH", "SIZE", "STORED",
    "list_args", "run_record",
]  # fmt: skip

RUN_COLUMNS = (
    "run_id, workflow, status, created_at, updated_at, result, error, ticks, events, "
    "owner, lease_expires, epoch, runnable_at, version, parent_run_id"
)
RUN_COLUMN_COUNT = RUN_COLUMNS.count(",") + 1
"""How many columns :data:`RUN_COLUMNS` names (a query selecting more reads on from there)."""
# One statement: the UPDATE locks the run row and checks the counters and, when fenced ($10),
# the epoch (re-checked on the newest row version if another writer committed meanwhile); the
# INSERTs, timer changes and notifications only see a row it returned. Set and cancelled timer
# ids are disjoint (the caller nets them), so no two parts touch one timer row. Inbox messages
# the ticks took in ($19) are deleted with them (all of a run's messages when it ends).
APPEND = """
WITH run AS (
    UPDATE runs SET
        ticks = ticks + cardinality($3::text[]),
        events = events + cardinality($5::text[]),
        status = coalesce($6::text, status),
        result = CASE WHEN $6::text IS NULL THEN result ELSE $7::text END,
        error = CASE WHEN $6::text IS NULL THEN error ELSE $8::text END,
        updated_at = $9::float8,
        runnable_at = CASE
            WHEN coalesce($6::text, status) <> 'running' THEN NULL
            ELSE least(runnable_at, $14::float8) END,
        -- the append that ends a run releases it: its holder need not
        owner = CASE WHEN $6::text IS NULL THEN owner END,
        lease_expires = CASE WHEN $6::text IS NULL THEN lease_expires END
    WHERE run_id = $1::text
        AND (cardinality($3::text[]) = 0 OR ticks = $2::int)
        AND (cardinality($5::text[]) = 0 OR events = $4::int)
        AND ($10::int IS NULL OR epoch = $10::int)
    RETURNING run_id, status
), gone_timers AS (
    DELETE FROM timers USING run WHERE timers.run_id = run.run_id
        AND (run.status <> 'running' OR timers.timer_id = ANY($11::text[]))
        -- a constant test: most appends neither end the run nor cancel a timer, and skip the scan
        AND ($6::text IS NOT NULL OR cardinality($11::text[]) > 0)
), set_timers AS (
    INSERT INTO timers (run_id, timer_id, fire_at)
    SELECT run.run_id, item.timer_id, item.fire_at
    FROM run, unnest($12::text[], $13::float8[]) AS item (timer_id, fire_at)
    WHERE run.status = 'running'
    ON CONFLICT (run_id, timer_id) DO UPDATE SET fire_at = excluded.fire_at
), gone_messages AS (
    DELETE FROM inbox USING run WHERE inbox.run_id = run.run_id
        AND (run.status <> 'running' OR inbox.id = ANY($19::bigint[]))
), notified AS (
    SELECT pg_notify($15::text, run.run_id)::text AS appended,
        CASE WHEN $14::float8 IS NOT NULL AND run.status = 'running'
            THEN pg_notify($16::text, run.run_id)::text END AS woken
    FROM run
), checkpoint AS (
    INSERT INTO checkpoints (run_id, seq, record)
    SELECT run.run_id, $17::int, $18::text FROM run WHERE $18::text IS NOT NULL
    ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq, record = excluded.record
), new_ticks AS (
    INSERT INTO ticks (run_id, seq, record)
    SELECT run.run_id, $2::int + item.n - 1, item.record
    FROM run, unnest($3::text[]) WITH ORDINALITY AS item (record, n)
), new_events AS (
    INSERT INTO events (run_id, "offset", record)
    SELECT run.run_id, $4::int + item.n - 1, item.record
    FROM run, unnest($5::text[]) WITH ORDINALITY AS item (record, n)
)
SELECT count(*) FROM run, notified
"""
# Group commit: the batches of many runs in one statement (``postgres_group.py``), each with
# APPEND's checks and effects, per run. $1-$14 hold one element per batch (run id, first seq,
# tick count, first offset, event count, status, result, error, epoch, runnable_at, checkpoint
# seq and record, whether it touches timers, whether it touches the inbox); $15 is now; the
# records, timers and inbox ids are flat arrays whose first array names the batch (1-based).
# Each batch's run appears once. ``locked`` takes the run rows in run id order (the order every
# statement locking several runs keeps, so none deadlocks with another); the UPDATE counts it
# in a condition that refers to nothing of its rows, which PostgreSQL evaluates once, before
# the UPDATE reads a row, so every lock is taken before any row changes, whatever the plan
# (joining ``locked`` instead let the planner loop over it once per row). The UPDATE checks
# every run row on its own (a run whose counters or epoch moved on matches nothing and stores
# nothing); the statement returns the numbers of the batches it stored.
APPEND_MANY = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::text[],
        $7::text[], $8::text[], $9::int[], $10::float8[], $11::int[], $12::text[], $13::bool[],
        $14::bool[]) WITH ORDINALITY AS b (run_id, seq, tick_count, first_offset, event_count,
        status, result, error, epoch, runnable_at, checkpoint_seq, checkpoint, touch_timers,
        touch_inbox, i)
), locked AS MATERIALIZED (
    SELECT run_id FROM runs WHERE run_id = ANY($1::text[]) ORDER BY run_id FOR NO KEY UPDATE
), run AS (
    UPDATE runs SET
        ticks = runs.ticks + b.tick_count,
        events = runs.events + b.event_count,
        status = coalesce(b.status, runs.status),
        result = CASE WHEN b.status IS NULL THEN runs.result ELSE b.result END,
        error = CASE WHEN b.status IS NULL THEN runs.error ELSE b.error END,
        updated_at = $15::float8,
        runnable_at = CASE
            WHEN coalesce(b.status, runs.status) <> 'running' THEN NULL
            ELSE least(runs.runnable_at, b.runnable_at) END,
        owner = CASE WHEN b.status IS NULL THEN runs.owner END,
        lease_expires = CASE WHEN b.status IS NULL THEN runs.lease_expires END
    FROM batch AS b
    WHERE (SELECT count(*) FROM locked) >= 0 AND runs.run_id = b.run_id
        AND (b.tick_count = 0 OR runs.ticks = b.seq)
        AND (b.event_count = 0 OR runs.events = b.first_offset)
        AND (b.epoch IS NULL OR runs.epoch = b.epoch)
    RETURNING runs.run_id, runs.status, b.i, b.runnable_at, b.checkpoint_seq, b.checkpoint,
        b.touch_timers, b.touch_inbox
), gone_timers AS (
    DELETE FROM timers USING run WHERE run.touch_timers AND timers.run_id = run.run_id
        AND (run.status <> 'running' OR EXISTS (
            SELECT 1 FROM unnest($22::int[], $23::text[]) AS gone (i, timer_id)
            WHERE gone.i = run.i AND gone.timer_id = timers.timer_id))
), set_timers AS (
    INSERT INTO timers (run_id, timer_id, fire_at)
    SELECT run.run_id, item.timer_id, item.fire_at
    FROM run JOIN unnest($19::int[], $20::text[], $21::float8[]) AS item (i, timer_id, fire_at)
        ON item.i = run.i
    WHERE run.status = 'running'
    ON CONFLICT (run_id, timer_id) DO UPDATE SET fire_at = excluded.fire_at
), gone_messages AS (
    DELETE FROM inbox USING run WHERE run.touch_inbox AND inbox.run_id = run.run_id
        AND (run.status <> 'running' OR inbox.id = ANY($24::bigint[]))
), notified AS (
    SELECT run.i, pg_notify($25::text, run.run_id)::text AS appended,
        CASE WHEN run.runnable_at IS NOT NULL AND run.status = 'running'
            THEN pg_notify($26::text, run.run_id)::text END AS woken
    FROM run
), checkpoint AS (
    INSERT INTO checkpoints (run_id, seq, record)
    SELECT run.run_id, run.checkpoint_seq, run.checkpoint FROM run WHERE run.checkpoint IS NOT NULL
    ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq, record = excluded.record
), new_ticks AS (
    INSERT INTO ticks (run_id, seq, record)
    SELECT run.run_id, item.seq, item.record
    FROM run JOIN unnest($16::int[], $17::int[], $18::text[]) AS item (i, seq, record)
        ON item.i = run.i
), new_events AS (
    INSERT INTO events (run_id, "offset", record)
    SELECT run.run_id, item.number, item.record
    FROM run JOIN unnest($27::int[], $28::int[], $29::text[]) AS item (i, number, record)
        ON item.i = run.i
)
SELECT i FROM notified
"""
# $1 run_id, $2 kind, $3 record, $4 idempotency key, $5 step, $6 at, $7 the runnable channel.
# The UPDATE locks a running run's row (so an append ending it waits, or comes first and this
# stores nothing); the final SELECT tells "no such run" (NULL) from "ended" (its status).
DELIVER = """
WITH run AS (
    UPDATE runs SET runnable_at = least(coalesce(runnable_at, $6::float8), $6::float8)
    WHERE run_id = $1 AND status = 'running'
    RETURNING run_id
), message AS (
    INSERT INTO inbox (run_id, kind, record, idempotency_key, step, at)
    SELECT run.run_id, $2, $3, $4, $5, $6::float8 FROM run
    ON CONFLICT (run_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
), notified AS (
    SELECT pg_notify($7::text, run.run_id)::text FROM run
)
SELECT (SELECT count(*) FROM notified), (SELECT status FROM runs WHERE run_id = $1)
"""
# $1 run ids: locks their rows in run id order, the order of every statement that locks several
# runs (a transaction that goes on to lock more than one run takes them all here first).
LOCK_RUNS = "SELECT 1 FROM runs WHERE run_id = ANY($1::text[]) ORDER BY run_id FOR NO KEY UPDATE"
LOAD_INBOX = """
SELECT id, run_id, kind, record, idempotency_key, at, step FROM inbox
WHERE run_id = $1 ORDER BY id
"""
GET_RUN = f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = $1"
# The LEFT JOIN tells "no such run" (no row) from "no checkpoint" (NULLs) in one query.
LOAD_CHECKPOINT = """
SELECT checkpoints.seq, checkpoints.record FROM runs
LEFT JOIN checkpoints ON checkpoints.run_id = runs.run_id WHERE runs.run_id = $1
"""
# What resuming reads, in one round trip: the run's row, its checkpoint and the ticks after
# it (with their seqs, to check the numbering), in one snapshot.
LOAD_TAIL = f"""
SELECT {", ".join(f"runs.{column.strip()}" for column in RUN_COLUMNS.split(","))},
    checkpoints.seq, checkpoints.record, tail.seqs, tail.records
FROM runs LEFT JOIN checkpoints ON checkpoints.run_id = runs.run_id
LEFT JOIN LATERAL (
    SELECT array_agg(seq ORDER BY seq) AS seqs, array_agg(record ORDER BY seq) AS records
    FROM ticks WHERE ticks.run_id = runs.run_id AND seq > coalesce(checkpoints.seq, -1)
) AS tail ON true
WHERE runs.run_id = $1
"""
# The rows are locked in run id order first, as by every statement that locks several runs.
PRUNE = """
DELETE FROM runs WHERE run_id IN (
    SELECT run_id FROM runs WHERE status = ANY($1::text[]) AND updated_at < $2
    ORDER BY run_id FOR UPDATE)
"""
RUN_IS_FRESH = (
    "SELECT workflow = $2 AND created_at = $3 AND ticks = 0 AND events = 0 FROM runs "
    "WHERE run_id = $1"
)
# After a refused append: the counters, and what is stored where the batch meant to go (after a
# lost connection, equal records there mean the first attempt committed).
STORED = """
SELECT ticks, events,
    (SELECT array_agg(record ORDER BY seq) FROM ticks
        WHERE run_id = $1 AND seq >= $2 AND seq < $2 + $3) AS stored_ticks,
    (SELECT array_agg(record ORDER BY "offset") FROM events
        WHERE run_id = $1 AND "offset" >= $4 AND "offset" < $4 + $5) AS stored_events,
    epoch
FROM runs WHERE run_id = $1
"""
# $4: the version of the workflow that starts it; $5: the run that started it (a child's).
CREATE_RUN = """
INSERT INTO runs (run_id, workflow, created_at, updated_at, version, parent_run_id)
VALUES ($1, $2, $3, $3, $4, $5)
ON CONFLICT (run_id) DO NOTHING RETURNING run_id
"""
# A new run created already held by its creator's lease ($4 owner, $5 expires, $6 epoch).
CREATE_RUN_HELD = """
INSERT INTO runs (run_id, workflow, created_at, updated_at, owner, lease_expires, epoch, version,
    parent_run_id)
VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)
ON CONFLICT (run_id) DO NOTHING RETURNING run_id
"""
# A new run's row with its first records, in one statement (a run enqueued, or started here):
# for a batch that neither ends the run nor sets timers, a checkpoint or inbox deletions (the
# others create the row, then APPEND, in one transaction). $1 run_id, $2 workflow,
# $3 created_at, $4 version, $5 owner, $6 lease expiry, $7 epoch (or NULL), $8 ticks,
# $9 events, $10 runnable_at, $11 now, $12/$13 the append and runnable channels, $14 the
# parent run (or NULL). The records'
# foreign keys are checked at the end of the statement, when the row exists.
CREATE_WITH_RECORDS = """
WITH run AS (
    INSERT INTO runs (run_id, workflow, created_at, updated_at, owner, lease_expires, epoch,
        version, ticks, events, runnable_at, parent_run_id)
    VALUES ($1, $2, $3::float8, $11::float8, $5, $6::float8, coalesce($7::int, 0), $4,
        cardinality($8::text[]), cardinality($9::text[]), $10::float8, $14::text)
    ON CONFLICT (run_id) DO NOTHING RETURNING run_id
), new_ticks AS (
    INSERT INTO ticks (run_id, seq, record)
    SELECT run.run_id, item.n - 1, item.record
    FROM run, unnest($8::text[]) WITH ORDINALITY AS item (record, n)
), new_events AS (
    INSERT INTO events (run_id, "offset", record)
    SELECT run.run_id, item.n - 1, item.record
    FROM run, unnest($9::text[]) WITH ORDINALITY AS item (record, n)
), notified AS (
    SELECT pg_notify($12::text, run.run_id)::text AS appended,
        CASE WHEN $10::float8 IS NOT NULL THEN pg_notify($13::text, run.run_id)::text END
            AS woken
    FROM run
)
SELECT count(*) FROM notified
"""
# The LEFT JOIN tells "no such run" (no row) from "no records" (one row of NULLs) in one query;
# every row carries the run's count of records, against which the numbering is checked.
_LOAD = """
SELECT item.number, item.record, runs.{table} FROM runs LEFT JOIN LATERAL (
    SELECT {number} AS number, record FROM {table}
    WHERE run_id = runs.run_id AND {number} > $2 ORDER BY {number} LIMIT $3
) AS item ON true
WHERE runs.run_id = $1 ORDER BY item.number
"""
LOAD_TICKS = _LOAD.format(table="ticks", number="seq")
LOAD_EVENTS = _LOAD.format(table="events", number='"offset"')
LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM runs
WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
    AND ($2::text[] IS NULL OR workflow = ANY($2::text[]))
    AND ($3::float8 IS NULL OR created_at > $3::float8)
    AND ($4::float8 IS NULL OR created_at < $4::float8)
    AND ($6::text IS NULL OR run_id ILIKE $6::text OR error::text ILIKE $6::text)
    AND ($8::text IS NULL OR parent_run_id = $8::text)
ORDER BY created_at DESC, created_order DESC LIMIT $5 OFFSET $7
"""


def list_args(
    status: Any,
    workflow: Any,
    after: Any,
    before: Any,
    limit: Any,
    text: Any,
    offset: int,
    parent: Any,
) -> tuple[Any, ...]:
    """:data:`LIST_RUNS`'s parameters for ``PostgresStore.list_runs``'s filters."""
    return (
        None if status is None else list(status),
        None if workflow is None else list(workflow),
        None if after is None else float(after),
        None if before is None else float(before),
        None if limit is None else max(limit, 0),
        records.like_pattern(text) if text else None,
        max(offset, 0),
        parent,
    )


SIZE = """
SELECT count(*), coalesce(sum(ticks), 0), coalesce(sum(events), 0),
    pg_total_relation_size('runs'::regclass) + pg_total_relation_size('ticks'::regclass)
    + pg_total_relation_size('events'::regclass)
FROM runs
"""


def run_record(row: Any) -> RunRecord:
    """A ``runs`` row (columns as in :data:`RUN_COLUMNS`) as a record; a result or error that
    is not valid JSON gives a record with ``corrupt`` set."""
    return records.run_record(*row)
