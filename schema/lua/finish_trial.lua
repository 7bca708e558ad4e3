-- finish_trial: record the result of a running trial and ask the arbiter to
-- settle its task. The first result wins: a zombie slave reporting after
-- the worker marked its trial "error" changes nothing.
--
-- KEYS[1]  trial hash
-- KEYS[2]  arbiter_queue list
-- ARGV[1]  status: passed, pending, failed, error or timeout
-- ARGV[2]  passed count   ARGV[3] pending count   ARGV[4] failed count
-- ARGV[5..] more field, value pairs (stdout, stderr, exit_code, ...)
--
-- Reply: 1 when recorded, 0 when the trial had finished already.
-- Errors: RRRINVALID for a missing trial, a bad status or a bad count.

local trial = KEYS[1]
if #ARGV < 4 then return bad('status and three counts are required') end
local status = ARGV[1]
if status ~= 'passed' and status ~= 'pending' and status ~= 'failed'
  and status ~= 'error' and status ~= 'timeout' then
  return bad('not a trial status: ' .. tostring(status))
end
for i = 2, 4 do
  if not string.match(ARGV[i], '^%d+$') then return bad('count is not a whole number: ' .. ARGV[i]) end
end
if (#ARGV - 4) % 2 ~= 0 then return bad('fields must come in pairs') end
for i = 5, #ARGV, 2 do
  local f = ARGV[i]
  if f == 'status' or f == 'finished_at' or f == 'task' or f == 'slave' or f == 'started_at' then
    return bad('field may not be set by a result: ' .. f)
  end
end
if redis.call('EXISTS', trial) == 0 then return bad('no such trial: ' .. trial) end
if hget(trial, 'status') ~= '' then return 0 end

for i = 5, #ARGV, 2 do
  redis.call('HSET', trial, ARGV[i], ARGV[i + 1])
end
redis.call('HSET', trial, 'status', status, 'finished_at', now(),
  'passed', ARGV[2], 'pending', ARGV[3], 'failed', ARGV[4])
redis.call('RPUSH', KEYS[2], 'trial\t' .. trial)
return 1
