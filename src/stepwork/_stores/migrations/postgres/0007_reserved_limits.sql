-- Placeholder on the schedules branch only: version 7 belongs to the limits change. Drop this
-- file when merging (the real 0007 replaces it); nothing here touches the schema.
SELECT 1;
