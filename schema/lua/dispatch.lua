-- dispatch: give a running taskset to a live, idle worker of its type,
-- unless that would exceed max_workers or the worker worked on it before.
-- A worker never holds two tasksets: its taskset field is set here.
-- A taskset without a status (the original RRRSpec client leaves it unset
-- until the first dispatch) is set running by its first dispatch.
--
-- KEYS[1]  taskset hash
-- KEYS[2]  taskset assigned set
-- KEYS[3]  worker hash
-- KEYS[4]  worker heartbeat
-- KEYS[5]  worker worker_queue list
-- KEYS[6]  taskset worker_log:<worker> hash
--
-- Reply: 'ok' | 'stopped' (taskset not running) | 'dead' (no heartbeat) |
--   'busy' (worker holds a taskset) | 'type' (other worker_type) |
--   'worked' (the worker worked on it already) | 'full' (max_workers)

local ts, assigned, worker = KEYS[1], KEYS[2], KEYS[3]
local status = hget(ts, 'status')
if status ~= 'running' and status ~= '' then return 'stopped' end
if redis.call('EXISTS', ts) == 0 then return 'stopped' end
if redis.call('EXISTS', KEYS[4]) == 0 or redis.call('EXISTS', worker) == 0 then return 'dead' end
if hget(worker, 'taskset') ~= '' then return 'busy' end
local want = hget(ts, 'worker_type')
if want == '' then want = 'default' end
local have = hget(worker, 'worker_type')
if have == '' then have = 'default' end
if want ~= have then return 'type' end
if redis.call('EXISTS', KEYS[6]) == 1 or redis.call('SISMEMBER', assigned, worker) == 1 then return 'worked' end
local max = tonumber(hget(ts, 'max_workers')) or 0
if max > 0 and redis.call('SCARD', assigned) >= max then return 'full' end

if status == '' then redis.call('HSET', ts, 'status', 'running') end
redis.call('HSET', worker, 'taskset', ts)
redis.call('SADD', assigned, worker)
redis.call('RPUSH', KEYS[5], ts)
return 'ok'
