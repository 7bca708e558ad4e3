-- stop_taskset: cancel or fail a taskset that has not finished. Its queue
-- is dropped; tasks without a verdict stay in tasks_left with an empty
-- status (they were not run), so the counters still add up.
--
-- KEYS[1]  taskset hash
-- KEYS[2]  taskset task_queue list
-- KEYS[3]  active_taskset list
-- KEYS[4]  persister_queue list
-- KEYS[5]  taskset log string
-- ARGV[1]  'cancelled' or 'failed'
-- ARGV[2]  reason (may be empty), kept in status_reason and the log
--
-- Reply: 1 when this call stopped it, 0 when it had finished already.
-- Errors: RRRINVALID for another status or a missing taskset.

local ts, status, reason = KEYS[1], ARGV[1], ARGV[2] or ''
if status ~= 'cancelled' and status ~= 'failed' then return bad('cannot stop a taskset as ' .. tostring(status)) end
if redis.call('EXISTS', ts) == 0 then return bad('no such taskset: ' .. ts) end
if not close_taskset(ts, status, reason, KEYS[2], KEYS[3], KEYS[4]) then return 0 end
local line = stamp() .. ' taskset ' .. status
if reason ~= '' then line = line .. ': ' .. reason end
redis.call('APPEND', KEYS[5], line .. '\n')
return 1
