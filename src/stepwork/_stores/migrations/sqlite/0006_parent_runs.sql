-- Child workflows (docs/durable-primitives.md): the run whose step started this one
-- (ctx.run_workflow / ctx.start_workflow); NULL for a top-level run and for runs stored before
-- this migration. The index serves "the children of run X" (list_runs(parent=X), run detail),
-- newest first; top-level runs, the most, are left out of it.

ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
CREATE INDEX runs_parent ON runs (parent_run_id, created_at) WHERE parent_run_id IS NOT NULL;
