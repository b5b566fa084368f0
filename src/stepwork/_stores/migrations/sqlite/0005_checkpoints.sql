-- Checkpoints: a run's folded state as of tick `seq`, so resuming or taking the run over folds
-- only the ticks after it. One row per run (the latest), written in the same transaction as the
-- batch whose last tick it covers, fenced like it. `record` is versioned JSON
-- (checkpoint_codec.py); one that cannot be read makes the reader fold every tick instead.

CREATE TABLE checkpoints (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL CHECK (seq >= 0),
    record TEXT NOT NULL
) WITHOUT ROWID;
