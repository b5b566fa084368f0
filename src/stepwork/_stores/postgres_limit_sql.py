"""The SQL of ``PostgresLimits``: few statements, so a slot costs few round trips.

Every statement after ``LOCK`` runs under the transaction-scoped advisory lock of its limit
name and key value. Data-modifying CTEs of one statement all see the same snapshot.
"""

from __future__ import annotations

__all__ = ["GRANT", "LOCK", "NOTIFY", "QUEUE", "STATE", "TIDY"]

LOCK = "SELECT pg_advisory_xact_lock(hashtext('stepwork.limit'), hashtext($1 || ':' || $2))"
"""$1 name, $2 key value."""

_DEAD = (
    "({t}.slot_id = $5 OR ({t}.name = $1 AND {t}.key_value = $2 AND {t}.owner IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = {t}.run_id "
    "AND r.status = 'running' AND r.owner = {t}.owner AND r.epoch = {t}.epoch "
    "AND r.lease_expires > $3::float8)))"
)

_TIDY = (
    f"WITH slots AS (DELETE FROM limit_slots s WHERE {_DEAD.format(t='s')}), "
    f"waiters AS (DELETE FROM limit_waiters w WHERE {_DEAD.format(t='w')}), "
    "starts AS (DELETE FROM limit_starts WHERE name = $1 AND key_value = $2 "
    "AND at <= $4::float8), "
    "served AS (DELETE FROM limit_served WHERE name = $1 AND key_value = $2 "
    "AND at <= $4::float8)"
)

TIDY = _TIDY + " SELECT 1"
"""Drop slot or waiter $5 (released) and the rows of dead leases ($3: the store's now), and
starts older than $4; $1 name, $2 key value."""

QUEUE = (
    _TIDY.replace("s.slot_id = $5 OR ", "").replace("w.slot_id = $5 OR ", "")
    + ", queued AS (INSERT INTO limit_waiters (slot_id, name, key_value, run_id, owner, epoch) "
    "SELECT $5, $1, $2, $6, $7, $8 WHERE NOT EXISTS "
    "(SELECT 1 FROM limit_slots WHERE slot_id = $5) ON CONFLICT (slot_id) DO NOTHING) "
    "SELECT EXISTS (SELECT 1 FROM limit_slots WHERE slot_id = $5)"
)
"""As ``TIDY`` without dropping $5; queue waiter $5 (run $6, owner $7, epoch $8) unless it
holds a slot already; returns whether it does."""

STATE = (
    "SELECT 'w', slot_id, run_id, arrived::float8 FROM limit_waiters "
    "WHERE name = $1 AND key_value = $2 "
    "UNION ALL SELECT 'h', NULL, run_id, NULL FROM limit_slots "
    "WHERE name = $1 AND key_value = $2 "
    "UNION ALL SELECT 's', NULL, NULL, at FROM limit_starts WHERE name = $1 AND key_value = $2 "
    "UNION ALL SELECT 'v', NULL, run_id, at FROM limit_served "
    "WHERE name = $1 AND key_value = $2 AND run_id IN "
    "(SELECT run_id FROM limit_waiters WHERE name = $1 AND key_value = $2)"
)
"""Rows ``(kind, slot_id, run_id, number)`` of limit $1, key value $2: ``w`` a waiter (number:
its arrival), ``h`` a held slot, ``s`` a start (number: when), ``v`` when a waiting run was
last served."""

GRANT = (
    "WITH moved AS (DELETE FROM limit_waiters WHERE slot_id = ANY($3::text[]) "
    "RETURNING slot_id, name, key_value, run_id, owner, epoch), "
    "slots AS (INSERT INTO limit_slots "
    "(slot_id, name, key_value, run_id, owner, epoch, granted_at) "
    "SELECT slot_id, name, key_value, run_id, owner, epoch, $4::float8 FROM moved), "
    "served AS (INSERT INTO limit_served (name, key_value, run_id, at) "
    "SELECT DISTINCT name, key_value, run_id, $4::float8 FROM moved "
    "ON CONFLICT (name, key_value, run_id) DO UPDATE SET at = excluded.at), "
    "starts AS (INSERT INTO limit_starts (name, key_value, at) "
    "SELECT $1, $2, $4::float8 FROM moved WHERE $5::boolean) "
    "SELECT count(*) FROM moved"
)
"""Move waiters $3 of limit $1, key value $2 to held slots granted at $4, recording when
their runs were served, and their starts if $5 (the limit has ``per_minute``)."""

NOTIFY = "SELECT pg_notify($1, $2)"
"""Tell LISTENing waiters that slots of ``name:key`` ($2) may have moved, on channel $1."""
