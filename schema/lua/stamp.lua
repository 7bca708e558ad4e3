-- stamp: set hash fields to the Redis time (worker log milestones, slave
-- exits), with extra field/value pairs in the same write.
--
-- KEYS[1]  hash
-- ARGV[1]  field to stamp with the current time
-- ARGV[2..] field, value pairs
--
-- Reply: the time written (RFC 3339).

if (#ARGV - 1) % 2 ~= 0 then return bad('fields must come in pairs') end
local t = now()
redis.call('HSET', KEYS[1], ARGV[1], t)
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return t
