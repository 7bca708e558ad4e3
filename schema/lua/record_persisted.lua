-- record_persisted: after the persister wrote a finished taskset to the
-- results store, fold the durations of its passed trials into the class's
-- estimates and mark it persisted, once: persisting twice counts once.
--
-- KEYS[1]  taskset hash
-- KEYS[2]  estimate_sec:<class> hash
-- ARGV[1]  weight of a new duration, in (0, 1]: an exponential moving
--          average that follows recent runs
-- ARGV[2..] spec file, seconds pairs
--
-- Reply: 1 when recorded now, 0 when the taskset was persisted before.
-- Errors: RRRINVALID for a bad weight, a bad duration, a missing taskset or
-- one that has not finished.

local w = tonumber(ARGV[1])
if not w or w <= 0 or w > 1 then return bad('weight must be in (0, 1]') end
if (#ARGV - 1) % 2 ~= 0 then return bad('spec durations must come in pairs') end
for i = 3, #ARGV, 2 do
  local d = tonumber(ARGV[i])
  if not d or d < 0 then return bad('not a duration in seconds: ' .. ARGV[i]) end
end
if redis.call('EXISTS', KEYS[1]) == 0 then return bad('no such taskset: ' .. KEYS[1]) end
local st = hget(KEYS[1], 'status')
if st ~= 'succeeded' and st ~= 'failed' and st ~= 'cancelled' then
  return bad('taskset has not finished: ' .. KEYS[1])
end
if hget(KEYS[1], 'persisted_at') ~= '' then return 0 end
for i = 2, #ARGV, 2 do
  local d = tonumber(ARGV[i + 1])
  local old = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '')
  if old then d = w * d + (1 - w) * old end
  redis.call('HSET', KEYS[2], ARGV[i], string.format('%.3f', d))
end
redis.call('HSET', KEYS[1], 'persisted_at', now())
return 1
