-- start_trial: create a running trial of a task for a slave, stamped with
-- the Redis time, unless the task has its verdict or the taskset stopped.
--
-- KEYS[1]  task hash
-- KEYS[2]  task trial list
-- KEYS[3]  trial hash (new)
-- KEYS[4]  slave trial list
-- KEYS[5]  taskset hash
-- ARGV[1]  slave key
--
-- Reply: {'ok', started_at} | {'settled', ''} when the task has a final
-- status, or its trial list is corrupt (another type: the arbiter settles
-- it as error) | {'stopped', ''} when the taskset is not running.
-- Errors: RRRINVALID when the task is missing, belongs to another taskset,
-- or the trial exists.

local task, trial, ts = KEYS[1], KEYS[3], KEYS[5]
if redis.call('EXISTS', task) == 0 then return bad('no such task: ' .. task) end
if hget(task, 'taskset') ~= ts then return bad('task ' .. task .. ' is not of taskset ' .. ts) end
if redis.call('EXISTS', trial) == 1 then return bad('trial exists: ' .. trial) end
if hget(ts, 'status') ~= 'running' then return {'stopped', ''} end
if hget(task, 'status') ~= '' then return {'settled', ''} end
local lt = key_type(KEYS[2])
if lt ~= 'list' and lt ~= 'none' then return {'settled', ''} end

local started = now()
-- No status field while it runs, as the original leaves it.
redis.call('HSET', trial, 'task', task, 'slave', ARGV[1], 'started_at', started)
redis.call('RPUSH', KEYS[2], trial)
redis.call('RPUSH', KEYS[4], trial)
redis.call('PUBLISH', ts .. ':events', 'started\t' .. trial)
return {'ok', started}
