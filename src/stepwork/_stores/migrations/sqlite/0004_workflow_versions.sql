-- Workflow versions (docs/scale-out.md, "Deploying a change with runs in flight").
-- version: the version of the workflow definition that started the run (a declared
-- Workflow.version, or a hash of the steps); NULL for runs started before this migration,
-- which any version continues. Workers claim only runs of the versions they serve.

ALTER TABLE runs ADD COLUMN version TEXT;
