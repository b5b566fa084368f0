-- Placeholder for migration 0004, which another branch (the fleet) adds at the same time.
-- When merging, DELETE this file in favour of that branch's 0004: it changes nothing.
SELECT 1;
