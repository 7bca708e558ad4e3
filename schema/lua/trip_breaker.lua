-- trip_breaker: a worker's circuit breaker trips in a taskset: its last
-- trials there all failed much sooner than their specs' estimates (a bad
-- box, not bad tests). The worker is marked unhealthy, with the reason and
-- the time; its worker log says it left the taskset and why; the trials of
-- the run are discounted (they do not count toward max_trials: lib.lua
-- settle skips them), and the taskset's log says so. The worker then stops
-- its slaves and releases the taskset (release_worker); dispatch never
-- gives it the same taskset again (its worker log exists).
--
-- The breaker never trips the last worker holding the taskset whose own
-- breaker has not tripped there: when every box fails fast, the code is
-- what fails, and the taskset must still get its verdict. (Workers that
-- tripped still hold the taskset until they have stopped their slaves;
-- they do not count, or workers tripping at once would all leave.)
--
-- KEYS[1]  the worker's fast_failures list in the taskset
-- KEYS[2]  the worker's worker_log hash of the taskset
-- KEYS[3]  worker hash
-- KEYS[4]  the taskset's assigned set
-- KEYS[5]  taskset hash
-- KEYS[6]  taskset log string
-- ARGV[1]  threshold: the run of fast failures that trips it (1 or more)
-- ARGV[2]  the reason, for the worker, its worker log and the trials
-- ARGV[3]  taskset log cap in bytes
--
-- Reply: 'tripped' (by this call) | 'already' (it had tripped) | 'below'
--   (the run is shorter than the threshold: a trial ended it since) |
--   'alone' (no other worker whose breaker has not tripped holds the
--   taskset) | 'stopped' (the taskset
--   is not running).
-- Errors: RRRINVALID for a bad threshold or cap, an empty reason.

local run, wl, worker, assigned, ts = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local threshold, cap = tonumber(ARGV[1]), tonumber(ARGV[3])
if not threshold or threshold < 1 then return bad('threshold must be 1 or more') end
if not cap or cap < 1 then return bad('log cap must be a positive number of bytes') end
if ARGV[2] == '' then return bad('a reason is required') end
if hget(ts, 'status') ~= 'running' then return 'stopped' end
if hget(wl, 'breaker_tripped_at') ~= '' then return 'already' end
local trials = redis.call('LRANGE', run, 0, -1)
if #trials < threshold then return 'below' end
local others = 0
for _, w in ipairs(redis.call('SMEMBERS', assigned)) do
  if w ~= worker and hget(ts .. ':worker_log:' .. w, 'breaker_tripped_at') == '' then others = others + 1 end
end
if others < 1 then return 'alone' end

local at = now()
redis.call('HSET', wl, 'breaker_tripped_at', at, 'breaker_reason', ARGV[2])
redis.call('HSET', worker, 'unhealthy', ARGV[2], 'unhealthy_at', at)
for _, trial in ipairs(trials) do
  if is_trial_failure(hget(trial, 'status')) then
    redis.call('HSET', trial, 'discounted', ARGV[2])
  end
end
redis.call('DEL', run)
append_capped(KEYS[6], 'worker ' .. worker .. ' left the taskset, its circuit breaker tripped: ' ..
  ARGV[2] .. '; those ' .. #trials .. ' trials do not count toward max_trials\n', cap, true)
return 'tripped'
