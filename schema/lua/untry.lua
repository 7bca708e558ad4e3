-- untry: make queued tasks takeable again by the live slaves of a taskset
-- that have all taken them before. A slave never takes a task twice
-- (take_task), so a task that failed on every live slave, and may still be
-- retried, would otherwise stay queued for ever (arbiter/check.go untry
-- picks the tasks that may be retried and the slaves that are alive).
--
-- KEYS[1]     the taskset's events channel
-- KEYS[2..n]  the tried sets of its live slaves
-- ARGV        task keys
--
-- Reply: the tasks released, each announced on the events channel as
-- queued, so that idle slaves look again.

if #KEYS < 2 then return {} end
local released = {}
for _, task in ipairs(ARGV) do
  local all = true
  for i = 2, #KEYS do
    -- a tried set of the wrong type (corrupt) counts as not taken
    if redis.pcall('SISMEMBER', KEYS[i], task) ~= 1 then
      all = false
      break
    end
  end
  if all then
    for i = 2, #KEYS do redis.call('SREM', KEYS[i], task) end
    redis.call('PUBLISH', KEYS[1], 'queued\t' .. task)
    released[#released + 1] = task
  end
end
return released
