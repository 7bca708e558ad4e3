-- settle_task: give a task its verdict from its trials, exactly once.
--
-- KEYS[1]  task hash
-- KEYS[2]  task trial list
-- KEYS[3]  taskset hash
-- KEYS[4]  taskset tasks_left list
-- KEYS[5]  taskset task_queue list
-- KEYS[6]  active_taskset list
-- KEYS[7]  persister_queue list
-- KEYS[8..]  the task's trial hashes, as the caller read the trial list
--
-- Rules, in order: any passed trial -> passed; else any pending -> pending;
-- else a trial still running -> wait; else failed/error/timeout trials >=
-- max_trials -> failed; else the task goes back to the head of the queue
-- (a retry should report soon). A task that gets a verdict leaves
-- tasks_left and bumps succeeded_count (passed, pending) or failed_count in
-- this same script, and when it was the last one the taskset finishes.
--
-- A failed task none of whose trials failed or timed out (they only
-- errored: the slave crashed, was lost, or could not run the command) did
-- not fail a test: its status stays 'failed', the protocol's, and (ext)
-- failure_kind = 'error' says so; the taskset's (ext) error_count counts
-- such tasks among failed_count. A trial list of another type (a corrupt
-- key) cannot be read: the task is settled so at once, with an error
-- field naming the key, rather than hold the taskset for ever.
--
-- Reply: {outcome, taskset status set by this call or ''} where outcome is
--   'passed' | 'pending' | 'failed'  the verdict given now
--   'running'   a trial is still running: nothing to do yet
--   'requeued'  the task was queued again
--   'queued'    it is in the queue already
--   'settled'   it had its verdict already (a late result)
--   'stopped'   the taskset is not running (cancelled, failed, finished)
--   'stale'     the trial list changed since the caller read it: read again
-- Errors: RRRINVALID when the task is missing or not of the taskset.

local task, trials, ts, left, queue = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('EXISTS', task) == 0 then return bad('no such task: ' .. task) end
if hget(task, 'taskset') ~= ts then return bad('task ' .. task .. ' is not of taskset ' .. ts) end
if hget(task, 'status') ~= '' then return {'settled', ''} end
if hget(ts, 'status') ~= 'running' then return {'stopped', ''} end

local passed, pending, running, failures, errors = 0, 0, 0, 0, 0
local verdict
local lt = key_type(trials)
if lt ~= 'list' and lt ~= 'none' then
  verdict = 'failed'
  redis.call('HSET', task, 'error', 'its trial list ' .. trials .. ' holds a ' .. lt ..
    ', not a list: its trials cannot be read (a corrupt key); settled as error')
else
  local listed = redis.call('LRANGE', trials, 0, -1)
  if #listed ~= #KEYS - 7 then return {'stale', ''} end
  for i, k in ipairs(listed) do
    if KEYS[7 + i] ~= k then return {'stale', ''} end
  end
  for _, k in ipairs(listed) do
    local s = hget(k, 'status')
    if s == 'passed' then passed = passed + 1
    elseif s == 'pending' then pending = pending + 1
    elseif s == '' then running = running + 1
    elseif is_trial_failure(s) then
      failures = failures + 1
      if s == 'error' then errors = errors + 1 end
    end
  end
  if passed > 0 then verdict = 'passed'
  elseif pending > 0 then verdict = 'pending'
  elseif running > 0 then return {'running', ''}
  else
    local max_trials = tonumber(hget(ts, 'max_trials')) or 1
    if failures >= max_trials then verdict = 'failed' end
  end
end

if not verdict then
  if in_list(queue, task) then return {'queued', ''} end
  redis.call('LPUSH', queue, task)
  redis.call('HINCRBY', task, 'requeued', 1)
  redis.call('PUBLISH', ts .. ':events', 'queued\t' .. task)
  return {'requeued', ''}
end

-- LREM scans a list until it has removed count elements, and a full scan
-- of 100,000 keys costs Redis about 2 ms. A task is in tasks_left once and
-- near its head (tasks settle about in queue order): count 1 stops there.
-- It can only be in the queue when it was queued again after it was taken
-- (requeued, counted by the scripts that do it): only then scan the queue.
redis.call('HSET', task, 'status', verdict)
redis.call('LREM', left, 1, task)
if hget(task, 'requeued') ~= '' then redis.call('LREM', queue, 0, task) end
if verdict == 'failed' then
  redis.call('HINCRBY', ts, 'failed_count', 1)
  if errors == failures then
    redis.call('HSET', task, 'failure_kind', 'error')
    redis.call('HINCRBY', ts, 'error_count', 1)
  end
else
  redis.call('HINCRBY', ts, 'succeeded_count', 1)
end
redis.call('PUBLISH', ts .. ':events', 'settled\t' .. task .. '\t' .. verdict)
return {verdict, finish_if_done(ts, left, queue, KEYS[6], KEYS[7])}
