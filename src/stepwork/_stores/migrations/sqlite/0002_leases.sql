-- Leases, durable timers and claiming (docs/scale-out.md).
-- owner/lease_expires: who holds the run and until when; epoch: bumped by every claim, checked
-- by every fenced append; runnable_at: NULL while the run waits for something from outside, a
-- time from which any worker may claim it. Runs still running from before this migration are
-- runnable at once: whichever process comes first claims and continues them.

ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires REAL;
ALTER TABLE runs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN runnable_at REAL;
UPDATE runs SET runnable_at = updated_at WHERE status = 'running';

CREATE INDEX runs_runnable ON runs (status, runnable_at);

CREATE TABLE timers (
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    timer_id TEXT NOT NULL,
    fire_at  REAL NOT NULL,
    PRIMARY KEY (run_id, timer_id)
) WITHOUT ROWID;

CREATE INDEX timers_by_fire_at ON timers (fire_at);
