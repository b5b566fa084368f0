"""The SQL of leases, claims and durable timers on PostgreSQL (``PostgresStore``).

``$1``-style parameters throughout; ``now`` is always a parameter (the store's clock), so
PostgreSQL, SQLite and memory agree on when a lease lapses.

Invariants:
- :data:`CLAIM_RUNNABLE` picks rows ``FOR UPDATE SKIP LOCKED``: concurrent claimers skip the
  rows another one is claiming instead of waiting for them, and never claim the same run.
- Every claim bumps the epoch and sets ``runnable_at`` to the claim time, so a lease that
  lapses without a release leaves the run claimable at once.
"""

from __future__ import annotations

__all__ = [
    "CLAIM_RUN", "CLAIM_RUNNABLE", "DUE_TIMERS", "LOCK_RUN", "NEXT_TIMER", "RELEASE", "RENEW",
    "channel",
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
# $1 run_id, $2 owner, $3 epoch, $4 new expiry
RENEW = """
UPDATE runs SET lease_expires = $4::float8 WHERE run_id = $1 AND owner = $2 AND epoch = $3
RETURNING lease_expires
"""
LOCK_RUN = "SELECT 1 FROM runs WHERE run_id = $1 FOR UPDATE"
# $1 run_id, $2 owner, $3 epoch, $4 idle, $5 now, $6 the runnable channel
RELEASE = """
WITH released AS (
    UPDATE runs SET owner = NULL, lease_expires = NULL, runnable_at = CASE
        WHEN status <> 'running' THEN NULL
        WHEN $4::bool AND NOT EXISTS (SELECT 1 FROM inbox WHERE inbox.run_id = runs.run_id)
            THEN (SELECT min(fire_at) FROM timers WHERE timers.run_id = runs.run_id)
        ELSE $5::float8 END
    WHERE run_id = $1 AND owner = $2 AND epoch = $3
    RETURNING run_id, runnable_at
), notified AS (
    SELECT pg_notify($6::text, run_id)::text FROM released WHERE runnable_at <= $5::float8
)
SELECT (SELECT count(*) FROM released), (SELECT count(*) FROM notified)
"""
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
