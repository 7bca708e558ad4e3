-- requeue_task: queue a task of a running taskset again, for the arbiter's
-- recovery (a task lost by a dead slave) and speculative execution (a
-- duplicate of the tail for an idle slave). The caller decided from a read
-- of the trial list; if a trial started since, the decision is stale.
--
-- KEYS[1]  task hash
-- KEYS[2]  task trial list
-- KEYS[3]  taskset hash
-- KEYS[4]  taskset task_queue list
-- ARGV[1]  number of trials the caller saw
--
-- Reply: 'requeued' | 'queued' (in the queue already) | 'settled' |
--        'stopped' | 'stale' (the trial count changed)
-- Errors: RRRINVALID for a missing task or one of another taskset.

local task, ts, queue = KEYS[1], KEYS[3], KEYS[4]
if redis.call('EXISTS', task) == 0 then return bad('no such task: ' .. task) end
if hget(task, 'taskset') ~= ts then return bad('task ' .. task .. ' is not of taskset ' .. ts) end
if hget(task, 'status') ~= '' then return 'settled' end
if hget(ts, 'status') ~= 'running' then return 'stopped' end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[1]) then return 'stale' end
if in_list(queue, task) then return 'queued' end
redis.call('RPUSH', queue, task)
-- settle_task scans the queue for a task with a verdict only when counted here
redis.call('HINCRBY', task, 'requeued', 1)
redis.call('PUBLISH', ts .. ':events', 'queued\t' .. task)
return 'requeued'
