-- create_taskset: create a taskset with one task per spec file, queue the
-- tasks in estimate order, register the taskset as active and wake the
-- dispatcher, all at once, so that a half-created taskset is never seen.
--
-- KEYS[1]  taskset hash
-- KEYS[2]  taskset tasks list
-- KEYS[3]  taskset tasks_left list
-- KEYS[4]  taskset task_queue list
-- KEYS[5]  active_taskset list
-- KEYS[6]  dispatcher_queue list
-- KEYS[7]  estimate_sec:<class> hash
-- KEYS[8..7+N]  task hashes, one per spec file
-- ARGV[1]  F, the number of taskset field/value pairs that follow
-- ARGV[2..1+2F]  taskset field, value, ...
-- ARGV[2+2F]     Q (ext), the number of quarantined spec/reason pairs that follow
-- ARGV[3+2F..2+2F+2Q]  spec file, reason, ...: the tasks of these specs get
--                the field quarantined = reason (the client read them from
--                $NS:quarantine:<class>, leaving out the expired ones)
-- ARGV[3+2F+2Q..] spec files, aligned with KEYS[8..]
--
-- Order: specs without an estimate first (they may be long, and this run
-- learns them), then by estimate, longest first; ties keep the given order.
-- (ext) A taskset field ordered = 1 keeps the given order (rrr bisect).
-- Reply: N, the number of tasks queued.
-- Errors: RRRINVALID when the taskset exists, when there is no spec, when
-- KEYS and specs do not line up, or when a spec repeats.

local ts = KEYS[1]
local nfields = tonumber(ARGV[1])
if not nfields or nfields < 0 then return bad('field count must be a number') end
local nquar = tonumber(ARGV[2 + 2 * nfields])
if not nquar or nquar < 0 then return bad('quarantine count must be a number') end
local quarantined = {}
for i = 1, nquar do
  local spec, reason = ARGV[1 + 2 * nfields + 2 * i], ARGV[2 + 2 * nfields + 2 * i]
  if not reason or reason == '' then return bad('a quarantined spec needs a reason: ' .. tostring(spec)) end
  quarantined[spec] = reason
end
local first_spec = 3 + 2 * nfields + 2 * nquar
local n = #ARGV - first_spec + 1
if n < 1 then return bad('a taskset needs at least one spec file') end
if #KEYS ~= 7 + n then return bad('task keys and spec files do not line up') end
if redis.call('EXISTS', ts) == 1 then return bad('taskset exists: ' .. ts) end

local tasks = {}
local seen = {}
for i = 1, n do
  local key = KEYS[7 + i]
  local spec = ARGV[first_spec + i - 1]
  if spec == '' then return bad('empty spec file name') end
  if seen[key] then return bad('spec file given twice: ' .. spec) end
  seen[key] = true
  tasks[i] = {key = key, spec = spec, idx = i}
end
-- The estimates in chunks: one HMGET per 1,000 specs, not one HGET each.
for from = 1, n, 1000 do
  local names = {}
  for i = from, math.min(from + 999, n) do names[#names + 1] = tasks[i].spec end
  local ests = redis.call('HMGET', KEYS[7], unpack(names))
  for j, e in ipairs(ests) do tasks[from + j - 1].est = tonumber(e or '') end
end

local ordered = false
for i = 1, nfields do
  if ARGV[2 * i] == 'ordered' and ARGV[2 * i + 1] == '1' then ordered = true end
end
if not ordered then
  table.sort(tasks, function(a, b)
    if (a.est == nil) ~= (b.est == nil) then return a.est == nil end
    if a.est ~= nil and a.est ~= b.est then return a.est > b.est end
    return a.idx < b.idx
  end)
end

local created = now()
for i = 1, nfields do
  redis.call('HSET', ts, ARGV[2 * i], ARGV[2 * i + 1])
end
redis.call('HSET', ts, 'status', 'running', 'created_at', created,
  'succeeded_count', 0, 'failed_count', 0, 'task_count', n)

for _, t in ipairs(tasks) do
  local est = ''
  if t.est ~= nil then est = string.format('%d', math.ceil(t.est)) end
  -- No status field until the verdict: the original's readers test for nil.
  redis.call('HSET', t.key, 'taskset', ts, 'estimate_sec', est, 'spec_file', t.spec)
  if quarantined[t.spec] then redis.call('HSET', t.key, 'quarantined', quarantined[t.spec]) end
end
-- The three lists in chunks of 1,000 keys per RPUSH (unpack has a limit).
for from = 1, n, 1000 do
  local keys = {}
  for i = from, math.min(from + 999, n) do keys[#keys + 1] = tasks[i].key end
  redis.call('RPUSH', KEYS[2], unpack(keys))
  redis.call('RPUSH', KEYS[3], unpack(keys))
  redis.call('RPUSH', KEYS[4], unpack(keys))
end

redis.call('RPUSH', KEYS[5], ts)
push_token(KEYS[6])
return n
