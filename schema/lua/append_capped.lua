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
local marker = '\n[rrr: log truncated: it reached ' .. ARGV[2] .. ' bytes]\n'
local len = redis.call('STRLEN', KEYS[1])
local text = ARGV[1]
if ARGV[3] == 'stamp' then text = stamp() .. ' ' .. text end
if len + #text <= cap then
  redis.call('APPEND', KEYS[1], text)
  return #text
end
if len >= cap then return 0 end
local part = string.sub(text, 1, cap - len) .. marker
redis.call('APPEND', KEYS[1], part)
return #part
