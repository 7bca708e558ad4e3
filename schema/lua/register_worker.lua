-- register_worker: a worker announces itself and starts its heartbeat; a
-- worker that was marked unhealthy starts healthy again.
--
-- KEYS[1]  worker set
-- KEYS[2]  worker hash
-- KEYS[3]  worker heartbeat
-- KEYS[4]  dispatcher_queue list
-- ARGV[1]  heartbeat TTL in milliseconds
-- ARGV[2..] field, value pairs (worker_type, host, slaves, pid, and taskset when
--           a live worker registers again while it works on one)
--
-- Reply: the taskset key the hash still names from an earlier life of
-- this worker id ('' if none): the caller must release it.
-- Errors: RRRINVALID for a bad TTL or unpaired fields.

local ttl = tonumber(ARGV[1])
if not ttl or ttl < 1 then return bad('heartbeat TTL must be a positive number of milliseconds') end
if (#ARGV - 1) % 2 ~= 0 then return bad('fields must come in pairs') end
local stale = hget(KEYS[2], 'taskset')
-- A new worker starts idle; a live one that registers again after the
-- dispatcher removed it passes the taskset it still works on as a field.
if stale == '' then redis.call('HSET', KEYS[2], 'taskset', '') end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[2], 'started_at', now())
-- A restart clears the circuit breaker's mark (trip_breaker.lua).
redis.call('HDEL', KEYS[2], 'unhealthy', 'unhealthy_at')
redis.call('SET', KEYS[3], 'alive', 'PX', ttl)
redis.call('SADD', KEYS[1], KEYS[2])
push_token(KEYS[4])
return stale
