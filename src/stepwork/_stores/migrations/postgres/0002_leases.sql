-- Leases, durable timers and claiming (docs/scale-out.md).
-- owner/lease_expires: who holds the run and until when; epoch: bumped by every claim, checked
-- by every fenced append in the same statement; runnable_at: NULL while the run waits for
-- something from outside, a time from which any worker may claim it (FOR UPDATE SKIP LOCKED).
-- Runs still running from before this migration are runnable at once.

ALTER TABLE runs
    ADD COLUMN owner TEXT,
    ADD COLUMN lease_expires DOUBLE PRECISION,
    ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN runnable_at DOUBLE PRECISION;
UPDATE runs SET runnable_at = updated_at WHERE status = 'running';

CREATE INDEX runs_runnable ON runs (runnable_at, created_order) WHERE status = 'running';

CREATE TABLE timers (
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    timer_id TEXT NOT NULL,
    fire_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, timer_id)
);

CREATE INDEX timers_by_fire_at ON timers (fire_at);
