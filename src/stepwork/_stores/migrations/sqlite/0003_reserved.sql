-- Reserved: number 0003 belongs to a change developed beside this one (idle release or
-- checkpoints); this empty placeholder keeps the numbering contiguous until that change lands.
SELECT 1;
