-- The journal: one row per run, its tick records by seq, its published events by offset.
-- Records are JSON text. Primary keys forbid a seq or offset being stored twice; the store
-- checks contiguity against the counters in `runs` inside the same write transaction.

CREATE TABLE runs (
    run_id     TEXT PRIMARY KEY,
    workflow   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'running',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    result     TEXT,                        -- JSON, the stop event's record once completed
    error      TEXT,                        -- JSON, {"type", "message", "step"} once failed
    ticks      INTEGER NOT NULL DEFAULT 0,  -- how many tick records: the next seq
    events     INTEGER NOT NULL DEFAULT 0   -- how many events: the next offset
);

CREATE INDEX runs_by_created ON runs (created_at);
CREATE INDEX runs_by_status ON runs (status, updated_at);

CREATE TABLE ticks (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL CHECK (seq >= 0),
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE events (
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    "offset" INTEGER NOT NULL CHECK ("offset" >= 0),
    record   TEXT NOT NULL,
    PRIMARY KEY (run_id, "offset")
) WITHOUT ROWID;
