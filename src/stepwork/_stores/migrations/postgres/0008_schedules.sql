-- Schedules (docs/durable-primitives.md#schedules): start a workflow on a cron expression or an
-- interval. `cursor` is the last slot handled (fired or skipped, or when the schedule was added
-- or resumed), `next_at` the next slot to fire (NULL while paused); slots are milliseconds
-- since the Unix epoch. A slot fires exactly once across processes: its row in schedule_slots
-- is inserted in the same transaction as the run it starts (whose id derives from the
-- schedule's name and the slot), and that transaction moves `cursor` forward only.

CREATE TABLE schedules (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    workflow   TEXT NOT NULL,
    cron       TEXT,
    every_ms   BIGINT,
    anchor_ms  BIGINT NOT NULL DEFAULT 0,
    tz         TEXT NOT NULL DEFAULT 'UTC',
    start      TEXT NOT NULL DEFAULT '{}',
    missed     TEXT NOT NULL DEFAULT 'latest',
    paused     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    cursor     BIGINT NOT NULL,
    next_at    BIGINT,
    last_slot  BIGINT,
    last_run   TEXT
);

CREATE INDEX schedules_due ON schedules (next_at) WHERE next_at IS NOT NULL;

CREATE TABLE schedule_slots (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    slot        BIGINT NOT NULL,
    run_id      TEXT NOT NULL,
    fired_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (schedule_id, slot)
);
