-- record_persisted: after the persister wrote a finished taskset to the
-- results store, fold the durations of its passed trials into the class's
-- estimates, append each spec's outcome to the class's history, and mark
-- the taskset persisted, once: persisting twice counts once.
--
-- KEYS[1]  taskset hash
-- KEYS[2]  estimate_sec:<class> hash
-- KEYS[3]  history:<class> hash (ext)
-- ARGV[1]  weight of a new duration, in (0, 1]: an exponential moving
--          average that follows recent runs
-- ARGV[2]  N, the outcomes kept per spec in the history (the newest N)
-- ARGV[3]  D, the number of spec file, seconds pairs that follow
-- ARGV[4..3+2D]  spec file, seconds, ...
-- ARGV[4+2D..]   spec file, outcome letter (P passed the first time, F
--                flaky, X failed, E errored), ...: appended to the spec's
--                string of letters, oldest first, cut to its last N
--
-- Reply: 1 when recorded now, 0 when the taskset was persisted before.
-- Errors: RRRINVALID for a bad weight, count, duration or outcome, a
-- missing taskset or one that has not finished.

local w = tonumber(ARGV[1])
if not w or w <= 0 or w > 1 then return bad('weight must be in (0, 1]') end
local keep = tonumber(ARGV[2])
if not keep or keep < 1 then return bad('history length must be 1 or more') end
local nd = tonumber(ARGV[3])
if not nd or nd < 0 or 3 + 2 * nd > #ARGV then return bad('duration count must be a number of pairs given') end
local first_outcome = 4 + 2 * nd
if (#ARGV - first_outcome + 1) % 2 ~= 0 then return bad('spec outcomes must come in pairs') end
for i = 5, 3 + 2 * nd, 2 do
  local d = tonumber(ARGV[i])
  if not d or d < 0 then return bad('not a duration in seconds: ' .. ARGV[i]) end
end
for i = first_outcome + 1, #ARGV, 2 do
  local o = ARGV[i]
  if o ~= 'P' and o ~= 'F' and o ~= 'X' and o ~= 'E' then return bad('not an outcome (P, F, X or E): ' .. o) end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return bad('no such taskset: ' .. KEYS[1]) end
local st = hget(KEYS[1], 'status')
if st ~= 'succeeded' and st ~= 'failed' and st ~= 'cancelled' then
  return bad('taskset has not finished: ' .. KEYS[1])
end
if hget(KEYS[1], 'persisted_at') ~= '' then return 0 end
-- update_pairs rewrites the fields of ARGV's spec, value pairs in [from,
-- to] of hash key with fold(old value or false, value): one HMGET and one
-- HSET per chunk of specs, not two commands per spec (unpack is bounded by
-- Lua's stack, hence the chunks).
local function update_pairs(key, from, to, fold)
  local chunk = 1000
  for first = from, to, 2 * chunk do
    local last = math.min(first + 2 * chunk - 1, to)
    local specs = {}
    for i = first, last, 2 do specs[#specs + 1] = ARGV[i] end
    local old = redis.call('HMGET', key, unpack(specs))
    local pairs_ = {}
    for j, spec in ipairs(specs) do
      pairs_[#pairs_ + 1] = spec
      pairs_[#pairs_ + 1] = fold(old[j], ARGV[first + 2 * j - 1])
    end
    redis.call('HSET', key, unpack(pairs_))
  end
end
update_pairs(KEYS[2], 4, 3 + 2 * nd, function(old, v)
  local d, o = tonumber(v), tonumber(old or '')
  if o then d = w * d + (1 - w) * o end
  return string.format('%.3f', d)
end)
update_pairs(KEYS[3], first_outcome, #ARGV, function(old, v)
  local h = (old or '') .. v
  if #h > keep then h = string.sub(h, -keep) end
  return h
end)
redis.call('HSET', KEYS[1], 'persisted_at', now())
return 1
