-- The journal: one row per run, its tick records by seq, its published events by offset.
-- Records are JSON text (not jsonb): text keeps every record byte for byte as appended, and a
-- half-written or edited row can be reported as corrupt instead of being refused or rewritten.
-- Primary keys forbid a seq or offset being stored twice; `append` checks contiguity against
-- the counters in `runs` in the same statement, under the run row's lock.

CREATE TABLE runs (
    run_id     TEXT PRIMARY KEY,
    workflow   TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'running',
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    result     TEXT,                        -- JSON, the stop event's record once completed
    error      TEXT,                        -- JSON, {"type", "message", "step"} once failed
    ticks      INTEGER NOT NULL DEFAULT 0 CHECK (ticks >= 0),   -- the next seq
    events     INTEGER NOT NULL DEFAULT 0 CHECK (events >= 0),  -- the next offset
    created_order BIGINT GENERATED ALWAYS AS IDENTITY  -- breaks ties between equal created_at
);

CREATE INDEX runs_by_created ON runs (created_at DESC, created_order DESC);
CREATE INDEX runs_by_status ON runs (status, updated_at);

CREATE TABLE ticks (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL CHECK (seq >= 0),
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE events (
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    "offset" INTEGER NOT NULL CHECK ("offset" >= 0),
    record   TEXT NOT NULL,
    PRIMARY KEY (run_id, "offset")
);
