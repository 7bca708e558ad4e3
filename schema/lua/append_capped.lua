-- append_capped: append text to a log string, keeping it under a cap; the
-- first append that does not fit leaves a marker, later ones are dropped.
--
-- KEYS[1]  log string
-- ARGV[1]  text
-- ARGV[2]  cap in bytes
-- ARGV[3]  optional: 'stamp' puts the Redis time ('%F %T ') before the text
--
-- Reply: the number of bytes appended.

local cap = tonumber(ARGV[2])
if not cap or cap < 1 then return bad('cap must be a positive number of bytes') end
return append_capped(KEYS[1], ARGV[1], cap, ARGV[3] == 'stamp')
