-- Placeholder for migration 0003, which another branch (idle release) adds at the same time.
-- When merging, DELETE this file in favour of that branch's 0003: it changes nothing.
SELECT 1;
