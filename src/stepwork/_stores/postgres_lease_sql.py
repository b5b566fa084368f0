"""The SQL of leases, claims and durable timers on PostgreSQL (``PostgresStore``).

``$1``-style parameters throughout; ``now`` is always a parameter (the store's clock), so
PostgreSQL, SQLite and memory agree on when a lease lapses.

Invariants:
- :data:`CLAIM_RUNNABLE` picks rows ``FOR UPDATE SKIP LOCKED``: concurrent claimers skip the
  rows another one is claiming instead of waiting for them, and never claim the same run.
- Every claim bumps the epoch and sets ``runnable_at`` to the claim time, so a lease that
  lapses without a release leaves the run claimable at once.
- :data:`RENEW_MANY` waits on no row lock (``SKIP LOCKED``): a row locked by an append of its
  run in flight is reported ``busy`` and renewed alone with :data:`RENEW` (which waits on that
  row only, holding no other).
- :data:`RELEASE_MANY` locks its rows in run id order, the order of every statement that
  waits for several runs' rows (``docs/design.md``, "Row locks on PostgreSQL").
"""

from __future__ import annotations

__all__ = [
    "CLAIM_RUN", "CLAIM_RUNNABLE", "DUE_TIMERS", "NEXT_TIMER", "RELEASE_MANY",
    "RENEW", "RENEW_MANY", "RUN_EXISTS", "WITH_MESSAGES", "channel",
]  # fmt: skip

_FREE = "(owner IS NULL OR lease_expires IS NULL OR lease_expires <= $3::float8)"

# $1 run_id, $2 owner, $3 now, $4 ttl, $5 a dead owner to take it from (or NULL)
CLAIM_RUN = f"""
UPDATE runs SET owner = $2, lease_expires = $3::float8 + $4::float8, epoch = runs.epoch + 1,
    runnable_at = $3::float8
FROM (SELECT run_id, owner AS previous FROM runs WHERE run_id = $1 FOR UPDATE) AS held
WHERE runs.run_id = held.run_id AND ({_FREE} OR owner = $2 OR owner = $5)
RETURNING runs.epoch, runs.lease_expires, held.previous
"""
# $1 owner, $2 ttl, $3 now, $4 limit, $5 workflows (NULL: any), $6/$7 workflow names and the
# versions served of them: a run of one of those recorded with another version is left alone.
CLAIM_RUNNABLE = f"""
WITH chosen AS (
    SELECT run_id, owner AS previous FROM runs
    WHERE status = 'running' AND runnable_at <= $3::float8 AND {_FREE}
        AND ($5::text[] IS NULL OR workflow = ANY($5::text[]))
        AND (version IS NULL OR NOT EXISTS (
            SELECT 1 FROM unnest($6::text[], $7::text[]) AS served (name, version)
            WHERE served.name = runs.workflow AND served.version <> runs.version))
    ORDER BY owner IS NULL, runnable_at, created_order
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE runs SET owner = $1, lease_expires = $3::float8 + $2::float8, epoch = runs.epoch + 1,
    runnable_at = $3::float8
FROM chosen WHERE runs.run_id = chosen.run_id
RETURNING runs.run_id, runs.epoch, runs.lease_expires, chosen.previous, runs.workflow
"""
RUN_EXISTS = "SELECT 1 FROM runs WHERE run_id = $1"
# $1 run_id, $2 owner, $3 epoch, $4 new expiry
RENEW = """
UPDATE runs SET lease_expires = $4::float8 WHERE run_id = $1 AND owner = $2 AND epoch = $3
RETURNING lease_expires
"""
# $1 run ids, $2 owners, $3 epochs, $4 new expiry. One row per lease (by its 1-based index
# i): renewed, or else whether the run was still this lease's (then its row was locked: busy).
RENEW_MANY = """
WITH held AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY
        AS h (run_id, owner, epoch, i)
), locked AS (
    SELECT runs.run_id, runs.epoch FROM runs JOIN held ON runs.run_id = held.run_id
        AND runs.owner = held.owner AND runs.epoch = held.epoch
    ORDER BY runs.run_id
    FOR UPDATE OF runs SKIP LOCKED
), renewed AS (
    UPDATE runs SET lease_expires = $4::float8 FROM locked WHERE runs.run_id = locked.run_id
    RETURNING runs.run_id, runs.epoch
)
SELECT held.i, renewed.run_id IS NOT NULL,
    coalesce(runs.owner = held.owner AND runs.epoch = held.epoch, false)
FROM held LEFT JOIN renewed ON renewed.run_id = held.run_id AND renewed.epoch = held.epoch
    LEFT JOIN runs ON runs.run_id = held.run_id
"""
# $1 run ids, $2 owners, $3 epochs, $4 idle, $5 now, $6 the runnable channel: the 1-based
# indexes of the leases released, and how many runs were NOTIFYd. One statement: ``locked``
# takes the rows in run id order, before the UPDATE reads a row (as in ``APPEND_MANY``);
# ``held`` has each row's version (xmin) as the statement's snapshot shows it. The inbox check
# reads that snapshot, so it cannot see a message a deliver committed while this statement
# waited for the row: a row whose version changed since (the UPDATE sees its newest version)
# is made runnable at once instead (at worst a claim that finds nothing to do).
RELEASE_MANY = """
WITH held AS (
    SELECT h.*, runs.xmin::text AS seen FROM unnest($1::text[], $2::text[], $3::int[])
        WITH ORDINALITY AS h (run_id, owner, epoch, i)
        LEFT JOIN runs ON runs.run_id = h.run_id
), locked AS MATERIALIZED (
    SELECT run_id FROM runs WHERE run_id = ANY($1::text[]) ORDER BY run_id FOR NO KEY UPDATE
), released AS (
    UPDATE runs SET owner = NULL, lease_expires = NULL, runnable_at = CASE
        WHEN status <> 'running' THEN NULL
        WHEN $4::bool AND runs.xmin::text = held.seen
            AND NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.run_id = runs.run_id)
            THEN (SELECT min(fire_at) FROM timers WHERE timers.run_id = runs.run_id)
        ELSE $5::float8 END
    FROM held
    WHERE (SELECT count(*) FROM locked) >= 0 AND runs.run_id = held.run_id
        AND runs.owner = held.owner AND runs.epoch = held.epoch
    RETURNING held.i, runs.run_id, runs.runnable_at
), notified AS (
    SELECT pg_notify($6::text, run_id)::text FROM released WHERE runnable_at <= $5::float8
)
SELECT array(SELECT i FROM released), (SELECT count(*) FROM notified)
"""
WITH_MESSAGES = "SELECT DISTINCT run_id FROM inbox WHERE run_id = ANY($1::text[])"
DUE_TIMERS = """
SELECT timers.run_id, timer_id, fire_at FROM timers JOIN runs USING (run_id)
WHERE fire_at <= $1::float8 AND status = 'running' ORDER BY fire_at LIMIT $2
"""
NEXT_TIMER = "SELECT min(fire_at) FROM timers WHERE run_id = $1"


def channel(kind: str, schema: str | None) -> str:
    """The NOTIFY channel for ``kind`` (``append`` or ``runnable``) of a store in ``schema``.

    Notifications are database-wide, so a schema's store listens on channels of its own.
    PostgreSQL keeps at most 63 bytes of a channel name.

    Example:
        >>> channel("append", None), channel("runnable", "team_b")
        ('stepwork_append', 'stepwork_runnable.team_b')
    """
    name = f"stepwork_{kind}" if schema is None else f"stepwork_{kind}.{schema}"
    return name.encode()[:63].decode(errors="ignore")
