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

-- failing_count is the number of failed tasks that fail the taskset:
-- failed_count without the quarantined ones (quarantined_failed_count).
local function failing_count(ts)
  local f = redis.call('HMGET', ts, 'failed_count', 'quarantined_failed_count')
  return (tonumber(f[1] or '') or 0) - (tonumber(f[2] or '') or 0)
end

-- finish_if_done closes a running taskset whose tasks_left is empty, with
-- succeeded or failed by its failing_count. Returns the status it set, or ''.
local function finish_if_done(ts, tasks_left, task_queue, active, persister)
  if redis.call('LLEN', tasks_left) > 0 then return '' end
  if hget(ts, 'status') ~= 'running' then return '' end
  local status = 'succeeded'
  if failing_count(ts) > 0 then status = 'failed' end
  if close_taskset(ts, status, '', task_queue, active, persister) then return status end
  return ''
end

-- settle gives a task its verdict from its trials, exactly once: the rules
-- of settle_task.lua, whose reply it returns. expected, when given, is the
-- trial list as the caller read it (the reply is stale when it changed);
-- nil when the script reads the list itself (finish_trial). known, when
-- given, is {key, status, crashed} of a trial the caller has just written
-- (finish_trial): it is not read again.
local function settle(task, trials, ts, left, queue, active, persister, expected, known)
  -- One read of the task: a task hash always has its taskset field.
  local tf = redis.call('HMGET', task, 'taskset', 'status', 'requeued', 'quarantined')
  if not tf[1] then
    if redis.call('EXISTS', task) == 0 then return bad('no such task: ' .. task) end
    tf[1] = ''
  end
  if tf[1] ~= ts then return bad('task ' .. task .. ' is not of taskset ' .. ts) end
  if tf[2] and tf[2] ~= '' then return {'settled', ''} end
  if hget(ts, 'status') ~= 'running' then return {'stopped', ''} end

  local passed, pending, running, failures, errors, crashes = 0, 0, 0, 0, 0, 0
  local verdict
  -- LRANGE fails on a key of another type: only then is its type read.
  local listed = redis.pcall('LRANGE', trials, 0, -1)
  if listed.err then
    verdict = 'failed'
    redis.call('HSET', task, 'error', 'its trial list ' .. trials .. ' holds a ' .. key_type(trials) ..
      ', not a list: its trials cannot be read (a corrupt key); settled as error')
  else
    if expected then
      if #listed ~= #expected then return {'stale', ''} end
      for i, k in ipairs(listed) do
        if expected[i] ~= k then return {'stale', ''} end
      end
    end
    for _, k in ipairs(listed) do
      local f
      if known and k == known[1] then f = {known[2], known[3], known[4]}
      else f = redis.call('HMGET', k, 'status', 'crashed', 'discounted') end
      local s = f[1] or ''
      -- A fast failure of a worker whose circuit breaker tripped
      -- (trip_breaker.lua) says nothing of the spec: it is not counted.
      if f[3] and f[3] ~= '' then s = 'discounted' end
      if s == 'passed' then passed = passed + 1
      elseif s == 'pending' then pending = pending + 1
      elseif s == '' then running = running + 1
      elseif is_trial_failure(s) then
        failures = failures + 1
        if s == 'error' then
          errors = errors + 1
          if f[2] and f[2] ~= '' then crashes = crashes + 1 end
        end
      end
    end
    if passed > 0 then verdict = 'passed'
    elseif pending > 0 then verdict = 'pending'
    elseif running > 0 then return {'running', ''}
    else
      local max_trials = tonumber(hget(ts, 'max_trials')) or 1
      -- A spec that killed what ran it twice (schema.CrashLimit) gets its
      -- verdict: retried, it would kill a slave on every worker.
      if failures >= max_trials or crashes >= 2 then verdict = 'failed' end
      if crashes >= 2 then
        redis.call('HSET', task, 'error', 'its trials killed their slave or runner ' .. crashes ..
          ' times: no more trials')
      end
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
  if tf[3] and tf[3] ~= '' then redis.call('LREM', queue, 0, task) end
  local quarantined = tf[4] and tf[4] ~= ''
  if verdict == 'failed' then
    redis.call('HINCRBY', ts, 'failed_count', 1)
    -- A quarantined failure is counted apart: it does not fail the taskset.
    if quarantined then redis.call('HINCRBY', ts, 'quarantined_failed_count', 1) end
    if errors == failures then
      redis.call('HSET', task, 'failure_kind', 'error')
      if not quarantined then redis.call('HINCRBY', ts, 'error_count', 1) end
    end
  else
    redis.call('HINCRBY', ts, 'succeeded_count', 1)
  end
  redis.call('PUBLISH', ts .. ':events', 'settled\t' .. task .. '\t' .. verdict)
  local finished = finish_if_done(ts, left, queue, active, persister)
  if finished == '' and verdict == 'failed' and not quarantined then
    -- Fail fast: max_failures specs failed for good, and tasks are left.
    local most = tonumber(hget(ts, 'max_failures')) or 0
    local failed = failing_count(ts)
    local specs = ' specs failed'
    if failed == 1 then specs = ' spec failed' end
    if most > 0 and failed >= most and close_taskset(ts, 'failed',
        'max failures reached: ' .. failed .. specs, queue, active, persister) then
      finished = 'failed'
    end
  end
  return {verdict, finished}
end

-- append_capped appends text to the log string key under cap bytes (the
-- first append that does not fit leaves a marker, later ones are dropped),
-- stamped with the Redis time when stamped; it returns the bytes appended.
local function append_capped(key, text, cap, stamped)
  local marker = '\n[rrr: log truncated: it reached ' .. tostring(cap) .. ' bytes]\n'
  local len = redis.call('STRLEN', key)
  if stamped then text = stamp() .. ' ' .. text end
  if len + #text <= cap then
    redis.call('APPEND', key, text)
    return #text
  end
  if len >= cap then return 0 end
  local part = string.sub(text, 1, cap - len) .. marker
  redis.call('APPEND', key, part)
  return #part
end
