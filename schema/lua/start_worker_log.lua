-- start_worker_log: open a worker's log for a taskset, once.
--
-- KEYS[1]  taskset worker_log list
-- KEYS[2]  taskset worker_log:<worker> hash
-- ARGV[1]  worker key
-- ARGV[2]  taskset key
--
-- Reply: 1 when opened now, 0 when it existed.

if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'worker', ARGV[1], 'taskset', ARGV[2], 'started_at', now())
redis.call('RPUSH', KEYS[1], KEYS[2])
return 1
