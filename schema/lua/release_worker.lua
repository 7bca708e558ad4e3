-- release_worker: a worker leaves the taskset it holds (the taskset ended,
-- its rsync failed, or it is shutting down), becomes idle, and the
-- dispatcher is woken so that the place it held can be given again.
--
-- KEYS[1]  worker hash
-- KEYS[2]  the taskset's assigned set
-- KEYS[3]  dispatcher_queue list
-- ARGV[1]  taskset key the worker is leaving
--
-- Reply: 1 when released, 0 when the worker did not hold that taskset.

local worker, ts = KEYS[1], ARGV[1]
redis.call('SREM', KEYS[2], worker)
if hget(worker, 'taskset') ~= ts then return 0 end
redis.call('HSET', worker, 'taskset', '')
push_token(KEYS[3])
return 1
