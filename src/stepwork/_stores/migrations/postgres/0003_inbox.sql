-- The inbox: outside input (an event, a cancellation) to a run that this process may not hold
-- (docs/scale-out.md). deliver() inserts a message, makes the run runnable and NOTIFYs the
-- runnable channel; the holder turns it into a tick and deletes it in the same statement as
-- that tick's append, so it takes effect once. A pending message's idempotency key is unique
-- per run.

CREATE TABLE inbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    record          TEXT,
    idempotency_key TEXT,
    step            TEXT,
    at              DOUBLE PRECISION NOT NULL
);

CREATE INDEX inbox_by_run ON inbox (run_id, id);

CREATE UNIQUE INDEX inbox_keys ON inbox (run_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
