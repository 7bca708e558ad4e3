-- lib.lua: helpers prepended to every script of this folder (see scripts.go).
-- Everything here is local: Redis 7 forbids globals in scripts.

-- civil_from_days converts days since 1970-01-01 to year, month, day
-- (Howard Hinnant's algorithm), so that scripts can write RFC 3339 times
-- from the Redis clock without os.date, which Redis does not offer.
local function civil_from_days(z)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m
  if mp < 10 then m = mp + 3 else m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- now returns the Redis server time as RFC 3339 UTC with microseconds.
local function now()
  local t = redis.call('TIME')
  local s = tonumber(t[1])
  local us = tonumber(t[2])
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local y, m, d = civil_from_days(days)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', y, m, d,
    math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60, us)
end

-- stamp returns the Redis server time as the original RRRSpec stamped its
-- log lines: '%F %T' in UTC, without fractions.
local function stamp()
  local s = tonumber(redis.call('TIME')[1])
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local y, m, d = civil_from_days(days)
  return string.format('%04d-%02d-%02d %02d:%02d:%02d', y, m, d,
    math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60)
end

-- hget returns a hash field, or '' when the field or the hash is missing.
local function hget(key, field)
  local v = redis.call('HGET', key, field)
  if not v then return '' end
  return v
end

-- bad rejects malformed input; the Go wrappers map the prefix to ErrInvalid.
local function bad(msg)
  return redis.error_reply('RRRINVALID ' .. msg)
end

-- in_list reports whether value is an element of list key.
local function in_list(key, value)
  return redis.call('LPOS', key, value) ~= false
end

-- key_type is the Redis type of key ('none' when missing). TYPE answers a
-- status reply, a table {ok = ...} in Lua.
local function key_type(key)
  local t = redis.call('TYPE', key)
  if type(t) == 'table' then t = t.ok end
  return t
end

-- is_trial_failure: trial statuses that count against max_trials.
local function is_trial_failure(s)
  return s == 'failed' or s == 'error' or s == 'timeout'
end

-- push_token wakes the dispatcher and keeps its queue short: a token only
-- means "look again", so a hundred of them say nothing more than one.
local function push_token(queue)
  redis.call('RPUSH', queue, '0')
  redis.call('LTRIM', queue, -100, -1)
end

-- is_final: taskset statuses that end it.
local function is_final(s)
  return s == 'succeeded' or s == 'cancelled' or s == 'failed'
end

-- close_taskset gives a taskset that has not ended its final status: it
-- leaves the active list, its queue is dropped, and the persister is told.
-- A status that is not one of the protocol's (a corrupt value) has not
-- ended: such a taskset is failed, not left active for ever. Returns true
-- when this call closed it, false when it was closed already.
local function close_taskset(ts, status, reason, task_queue, active, persister)
  if is_final(hget(ts, 'status')) then return false end
  if redis.call('EXISTS', ts) == 0 then return false end
  redis.call('HSET', ts, 'status', status, 'finished_at', now())
  if reason ~= '' then redis.call('HSET', ts, 'status_reason', reason) end
  redis.call('DEL', task_queue)
  redis.call('LREM', active, 0, ts)
  redis.call('RPUSH', persister, ts)
  redis.call('PUBLISH', ts .. ':events', 'finished\t' .. status)
  return true
end

-- finish_if_done closes a running taskset whose tasks_left is empty, with
-- succeeded or failed by its failed_count. Returns the status it set, or ''.
local function finish_if_done(ts, tasks_left, task_queue, active, persister)
  if redis.call('LLEN', tasks_left) > 0 then return '' end
  if hget(ts, 'status') ~= 'running' then return '' end
  local status = 'succeeded'
  if (tonumber(hget(ts, 'failed_count')) or 0) > 0 then status = 'failed' end
  if close_taskset(ts, status, '', task_queue, active, persister) then return status end
  return ''
end
