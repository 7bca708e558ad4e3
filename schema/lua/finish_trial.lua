-- finish_trial: record the result of a running trial and settle its task.
-- The first result wins: a zombie slave reporting after the worker marked
-- its trial "error" changes nothing.
--
-- Two forms. With the two keys of the original protocol, the arbiter is
-- asked to settle the task (a `trial` command), as every finish did before.
-- With all eleven, the slave's hot path: its held log lines are appended,
-- and the task is settled here, in the same step (the rules of
-- settle_task.lua), so a trial costs no arbiter round trips at all; the
-- taskset's log gets the lines the arbiter would write. With fourteen, the
-- slave's form and its worker's circuit breaker (trip_breaker.lua): a trial
-- that carries fast_failure joins the worker's run of fast failures (or,
-- when the breaker tripped already, is discounted at once: it does not
-- count toward max_trials); any other trial ends the run, and a passed
-- one clears the worker's unhealthy mark. This happens before the settle,
-- so that a discounted trial is not counted by it.
--
-- KEYS[1]  trial hash
-- KEYS[2]  arbiter_queue list
-- KEYS[3]  slave log string          (KEYS[3..11]: the slave's form)
-- KEYS[4]  task hash
-- KEYS[5]  task trial list
-- KEYS[6]  taskset hash
-- KEYS[7]  taskset tasks_left list
-- KEYS[8]  taskset task_queue list
-- KEYS[9]  active_taskset list
-- KEYS[10] persister_queue list
-- KEYS[11] taskset log string
-- KEYS[12] the worker's fast_failures list in this taskset  (KEYS[12..14]: the breaker)
-- KEYS[13] the worker's worker_log hash of this taskset
-- KEYS[14] worker hash
-- ARGV[1]  status: passed, pending, failed, error or timeout
-- ARGV[2]  passed count   ARGV[3] pending count   ARGV[4] failed count
-- ARGV[5]  slave log text to append ('' for none; the slave's form only)
-- ARGV[6]  slave log cap in bytes   ARGV[7] taskset log cap in bytes
-- ARGV[8..] more field, value pairs (stdout, stderr, exit_code, ...)
--
-- Reply: {recorded, outcome, taskset status, run} where recorded is 1 when
-- this call recorded the result, 0 when the trial had finished already;
-- outcome is settle_task's ('' in the two-key form, or when not recorded;
-- 'deferred' when the task could not be settled here and the arbiter was
-- asked to); the taskset status is the one this call finished it with, or
-- ''; run (the fourteen-key form only) is the length of the worker's run
-- of fast failures after this trial, -1 when its breaker had tripped.
-- Errors: RRRINVALID for a missing trial, a bad status or count, a trial
-- that is not of the task named.

local trial = KEYS[1]
local breaker = #KEYS == 14
local full = #KEYS == 11 or breaker
if #KEYS ~= 2 and not full then return bad('want 2, 11 or 14 keys, got ' .. #KEYS) end
if #ARGV < 7 then return bad('status, three counts, a log text and two caps are required') end
local status = ARGV[1]
if status ~= 'passed' and status ~= 'pending' and status ~= 'failed'
  and status ~= 'error' and status ~= 'timeout' then
  return bad('not a trial status: ' .. tostring(status))
end
for i = 2, 4 do
  if not string.match(ARGV[i], '^%d+$') then return bad('count is not a whole number: ' .. ARGV[i]) end
end
if (#ARGV - 7) % 2 ~= 0 then return bad('fields must come in pairs') end
local fields = {}
local fast = false
for i = 8, #ARGV, 2 do
  local f = ARGV[i]
  if f == 'fast_failure' then fast = is_trial_failure(status) end
  if f == 'status' or f == 'finished_at' or f == 'task' or f == 'slave' or f == 'started_at' then
    return bad('field may not be set by a result: ' .. f)
  end
  fields[#fields + 1] = f
  fields[#fields + 1] = ARGV[i + 1]
end
local slave_cap, ts_cap = tonumber(ARGV[6]), tonumber(ARGV[7])
if full and (not slave_cap or slave_cap < 1 or not ts_cap or ts_cap < 1) then
  return bad('log caps must be positive numbers of bytes')
end
local tf = redis.call('HMGET', trial, 'task', 'status')
local task = tf[1] or ''
if task == '' and redis.call('EXISTS', trial) == 0 then return bad('no such trial: ' .. trial) end
if full and task ~= KEYS[4] then return bad('trial ' .. trial .. ' is not of task ' .. KEYS[4]) end
-- The slave's lines are kept even when its result comes too late.
if full and ARGV[5] ~= '' then append_capped(KEYS[3], ARGV[5], slave_cap, false) end
if tf[2] and tf[2] ~= '' then return {0, '', '', 0} end

-- One write; the counts come last, so that they win over a field of the same name.
for _, v in ipairs({'status', status, 'finished_at', now(), 'passed', ARGV[2], 'pending', ARGV[3], 'failed', ARGV[4]}) do
  fields[#fields + 1] = v
end
redis.call('HSET', trial, unpack(fields))
if not full then
  redis.call('RPUSH', KEYS[2], 'trial\t' .. trial)
  return {1, '', ''}
end

local run, discounted = 0, false
if breaker then
  if (fast or is_trial_failure(status)) and hget(KEYS[13], 'breaker_tripped_at') ~= '' then
    -- A slave of a worker that is leaving (its trial failed fast, or was
    -- stopped as the worker left): not counted, as the run was.
    discounted = hget(KEYS[13], 'breaker_reason')
    redis.call('HSET', trial, 'discounted', discounted)
    run = -1
  elseif not fast then
    redis.call('DEL', KEYS[12])
    if status == 'passed' then redis.call('HDEL', KEYS[14], 'unhealthy', 'unhealthy_at') end
  else
    run = redis.call('RPUSH', KEYS[12], trial)
  end
end

local crashed = false
for i = 1, #fields, 2 do
  if fields[i] == 'crashed' then crashed = fields[i + 1] end
end
local r = settle(task, KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], nil, {trial, status, crashed, discounted})
if r.err then
  -- Not settleable here (the task is not of that taskset, say): the
  -- arbiter settles it, and logs why.
  redis.call('RPUSH', KEYS[2], 'trial\t' .. trial)
  return {1, 'deferred', '', run}
end
local out, finished = r[1], r[2]
if out == 'failed' then
  append_capped(KEYS[11], 'task ' .. task .. ' failed: no trial passed\n', ts_cap, true)
elseif out == 'requeued' then
  append_capped(KEYS[11], 'task ' .. task .. ' queued again for another trial\n', ts_cap, true)
end
if finished ~= '' then
  local reason = hget(KEYS[6], 'status_reason')
  if reason == '' then reason = 'every task has its verdict' end
  append_capped(KEYS[11], 'taskset ' .. finished .. ': ' .. reason .. '\n', ts_cap, true)
end
return {1, out, finished, run}
