-- Named limits (stepwork.Limit, docs/durable-primitives.md#limits), shared by every process and host on
-- this database. limit_defs: the numbers first declared for a name. limit_waiters: invocations
-- waiting for a slot, in arrival order. limit_slots: slots held. limit_starts: when slots were
-- granted in the last minute (per_minute only). limit_served: when each run was last granted a slot in
-- the last minute (round-robin between runs). A waiter or slot belongs to its run's lease
-- (run_id, owner, epoch): once that lease is dead the next grant pass drops the row.

CREATE TABLE limit_defs (
    name        TEXT PRIMARY KEY,
    concurrency INTEGER,
    per_minute  INTEGER,
    key_field   TEXT
);

CREATE TABLE limit_waiters (
    arrived   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_id   TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    key_value TEXT NOT NULL,
    run_id    TEXT NOT NULL,
    owner     TEXT,
    epoch     INTEGER NOT NULL
);

CREATE INDEX limit_waiters_by_limit ON limit_waiters (name, key_value, arrived);

CREATE TABLE limit_slots (
    slot_id    TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    key_value  TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    owner      TEXT,
    epoch      INTEGER NOT NULL,
    granted_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX limit_slots_by_limit ON limit_slots (name, key_value);

CREATE TABLE limit_starts (
    name      TEXT NOT NULL,
    key_value TEXT NOT NULL,
    at        DOUBLE PRECISION NOT NULL
);

CREATE INDEX limit_starts_by_limit ON limit_starts (name, key_value, at);

CREATE TABLE limit_served (
    name      TEXT NOT NULL,
    key_value TEXT NOT NULL,
    run_id    TEXT NOT NULL,
    at        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, key_value, run_id)
);
