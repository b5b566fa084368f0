-- Version 6 is reserved for the run lineage migration (a parent_run_id column), which lands on
-- another branch; this placeholder keeps the numbering contiguous until then and is replaced
-- by that migration when the branches meet (it changes nothing).
SELECT 1;
