-- expire_tasks: set the expiry of tasks with their trial lists and trials,
-- as the persister does once a taskset is stored: one call for a chunk of
-- tasks instead of a command per key. The trial keys are read from each
-- task's trial list, so that trials that did not decode expire too.
--
-- KEYS[1..N]  task hashes
-- ARGV[1]     time to live in milliseconds
--
-- Reply: the number of keys given an expiry (those that exist).

local ttl = tonumber(ARGV[1])
if not ttl or ttl < 1 then return bad('time to live must be a positive number of milliseconds') end
local n = 0
for _, task in ipairs(KEYS) do
  n = n + redis.call('PEXPIRE', task, ttl)
  local trials = task .. ':trial'
  local listed = redis.pcall('LRANGE', trials, 0, -1) -- fails on a corrupt key
  if not listed.err then
    for _, trial in ipairs(listed) do
      n = n + redis.call('PEXPIRE', trial, ttl)
    end
  end
  n = n + redis.call('PEXPIRE', trials, ttl)
end
return n
