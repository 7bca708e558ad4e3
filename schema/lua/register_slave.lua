-- register_slave: a slave joins a taskset: its hash, its place in the
-- taskset's slave list, and its heartbeat.
--
-- KEYS[1]  slave hash
-- KEYS[2]  taskset slave list
-- KEYS[3]  slave heartbeat
-- ARGV[1]  heartbeat TTL in milliseconds
-- ARGV[2..] field, value pairs (worker, taskset, number, pid)
--
-- Reply: 1 when registered now, 0 when the slave existed.

local ttl = tonumber(ARGV[1])
if not ttl or ttl < 1 then return bad('heartbeat TTL must be a positive number of milliseconds') end
if (#ARGV - 1) % 2 ~= 0 then return bad('fields must come in pairs') end
redis.call('SET', KEYS[3], 'alive', 'PX', ttl)
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'started_at', now()) -- no status until it exits
redis.call('RPUSH', KEYS[2], KEYS[1])
return 1
