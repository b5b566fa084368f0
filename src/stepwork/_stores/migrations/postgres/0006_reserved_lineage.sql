-- Placeholder on the schedules branch only: version 6 belongs to the lineage change. Drop this
-- file when merging (the real 0006 replaces it); nothing here touches the schema.
SELECT 1;
