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
for i = 4, 3 + 2 * nd, 2 do
  local d = tonumber(ARGV[i + 1])
  local old = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '')
  if old then d = w * d + (1 - w) * old end
  redis.call('HSET', KEYS[2], ARGV[i], string.format('%.3f', d))
end
for i = first_outcome, #ARGV, 2 do
  local h = hget(KEYS[3], ARGV[i]) .. ARGV[i + 1]
  if #h > keep then h = string.sub(h, -keep) end
  redis.call('HSET', KEYS[3], ARGV[i], h)
end
redis.call('HSET', KEYS[1], 'persisted_at', now())
return 1
