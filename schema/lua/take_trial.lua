-- take_trial: take the first queued task this slave has not taken before
-- and start its trial, in one step: take_task and start_trial at once, the
-- slave's hot path. A task that turns out to have its verdict, or whose
-- trial list is corrupt, is skipped for the next one, as a slave would
-- skip it after start_trial said 'settled'.
--
-- KEYS[1]  taskset task_queue list
-- KEYS[2]  slave tried set (task keys this slave has taken)
-- KEYS[3]  taskset hash
-- KEYS[4]  slave trial list
-- ARGV[1]  how many queued tasks to look at, from the head
-- ARGV[2]  slave key
-- ARGV[3]  trial id (the trial is <task>:trial:<id>)
--
-- The task's own keys (its hash, trial list and the new trial) are named
-- by the task key this script takes from the queue.
--
-- Reply: {'ok', task, trial, started_at, field, value, ...} with the task's
-- hash | {'empty'} when the queue is empty | {'tried'} when every task
-- looked at was taken by this slave | {'again'} when the tasks it took had
-- their verdict already (take again) | {'stopped'} when the taskset is not
-- running (nothing is taken).
-- Errors: RRRINVALID for a bad scan limit, a task of another taskset (it is
-- taken; the arbiter's check queues it again).

local queue, tried, ts, slave_trials = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit = tonumber(ARGV[1])
if not limit or limit < 1 then return bad('scan limit must be a positive number') end
if hget(ts, 'status') ~= 'running' then return {'stopped'} end
local head = redis.call('LRANGE', queue, 0, limit - 1)
if #head == 0 then return {'empty'} end
local skipped = false
for _, task in ipairs(head) do
  if redis.call('SISMEMBER', tried, task) == 0 then
    redis.call('LREM', queue, 1, task)
    redis.call('SADD', tried, task)
    local h = redis.call('HGETALL', task)
    local fields = {}
    for i = 1, #h, 2 do fields[h[i]] = h[i + 1] end
    if #h == 0 then return bad('no such task: ' .. task) end
    if fields['taskset'] ~= ts then return bad('task ' .. task .. ' is not of taskset ' .. ts) end
    local trials = task .. ':trial'
    local trial = trials .. ':' .. ARGV[3] -- a random id: a new key
    -- A trial list of another type (a corrupt key) refuses the RPUSH: the
    -- task is skipped, and the arbiter settles it as error.
    if (fields['status'] or '') == '' and type(redis.pcall('RPUSH', trials, trial)) == 'number' then
      local started = now()
      -- No status field while it runs, as the original leaves it.
      redis.call('HSET', trial, 'task', task, 'slave', ARGV[2], 'started_at', started)
      redis.call('RPUSH', slave_trials, trial)
      redis.call('PUBLISH', ts .. ':events', 'started\t' .. trial)
      local reply = {'ok', task, trial, started}
      for i = 1, #h do reply[#reply + 1] = h[i] end
      return reply
    end
    skipped = true
  end
end
if skipped then return {'again'} end
return {'tried'}
