-- remove_worker: forget a worker whose heartbeat has expired, with its hash
-- and queue, and free the place it held in its taskset. The keys of its
-- slaves stay: trials name them, and they expire with the taskset.
--
-- KEYS[1]  worker set
-- KEYS[2]  worker hash
-- KEYS[3]  worker heartbeat
-- KEYS[4]  worker worker_queue list
-- KEYS[5]  assigned set of the taskset the worker holds (any key if none)
-- ARGV[1]  taskset key the caller read from the worker hash ('' if none)
--
-- Reply: 'removed' | 'alive' (heartbeat present) | 'stale' (the worker's
-- taskset changed since the caller read it).

if redis.call('EXISTS', KEYS[3]) == 1 then return 'alive' end
if hget(KEYS[2], 'taskset') ~= ARGV[1] then return 'stale' end
if ARGV[1] ~= '' then redis.call('SREM', KEYS[5], KEYS[2]) end
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('SREM', KEYS[1], KEYS[2])
return 'removed'
