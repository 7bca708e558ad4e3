-- take_batch (ext): take a batch of queued tasks for a slave whose trial
-- command runs several spec files at once ({files}, or a runner that
-- batches; docs/batches.md). The first queued task this slave has not
-- taken always comes; short ones after it join it up to a target:
--
--   * a task that was in a batch before (KEYS[4]) runs alone: it failed,
--     errored or is a speculative copy, and alone its verdict is its own;
--   * a task whose estimate is over the target runs alone;
--   * the others (an unknown estimate counts as 0) join while the sum of
--     the estimates stays within the target, up to ARGV[3] tasks, and up
--     to ceil(queued / ARGV[4]) so that the tail of the queue is shared
--     between the slaves rather than taken by one.
--
-- KEYS[1]  taskset task_queue list
-- KEYS[2]  slave tried set (task keys this slave has taken)
-- KEYS[3]  estimate_sec:<class> hash (spec file -> seconds)
-- KEYS[4]  taskset batched set (ext): tasks that ran in a batch
-- ARGV[1]  how many queued tasks to look at, from the head
-- ARGV[2]  task key prefix ("<taskset>:task:"), to read the spec of a task
-- ARGV[3]  most tasks in a batch (>= 1)
-- ARGV[4]  slaves the taskset is spread over (>= 1)
-- ARGV[5]  target seconds of a batch (> 0)
--
-- Reply: {'ok', task key, ...} (one task: it runs alone; several: a
-- batch, each now in KEYS[4]) | {'empty'} when the queue is empty |
-- {'tried'} when every task looked at was taken by this slave.

local limit = tonumber(ARGV[1])
local most = tonumber(ARGV[3])
local slaves = tonumber(ARGV[4])
local target = tonumber(ARGV[5])
if not limit or limit < 1 then return bad('scan limit must be a positive number') end
if not most or most < 1 then return bad('batch size must be a positive number') end
if not slaves or slaves < 1 then return bad('slaves must be a positive number') end
if not target or target <= 0 then return bad('batch target must be a positive number') end
local prefix = ARGV[2]
local head = redis.call('LRANGE', KEYS[1], 0, limit - 1)
if #head == 0 then return {'empty'} end
local queued = redis.call('LLEN', KEYS[1])
most = math.min(most, math.ceil(queued / slaves))

local function estimate(task)
  if string.sub(task, 1, #prefix) ~= prefix then return nil end
  return tonumber(redis.call('HGET', KEYS[3], string.sub(task, #prefix + 1)) or '')
end
local function batchable(task)
  if redis.call('SISMEMBER', KEYS[4], task) == 1 then return false, 0 end
  local e = estimate(task) or 0
  return e <= target, e
end

local taken = {}
local sum = 0
local alone = false
for _, task in ipairs(head) do
  if #taken >= most or alone then break end
  if redis.call('SISMEMBER', KEYS[2], task) == 0 then
    local ok, e = batchable(task)
    if #taken == 0 then
      taken[1] = task
      sum = e
      alone = not ok
    elseif ok and sum + e <= target then
      taken[#taken + 1] = task
      sum = sum + e
    end
  end
end
if #taken == 0 then return {'tried'} end
for _, task in ipairs(taken) do
  redis.call('LREM', KEYS[1], 1, task)
  redis.call('SADD', KEYS[2], task)
  if #taken > 1 then redis.call('SADD', KEYS[4], task) end
end
local reply = {'ok'}
for _, task in ipairs(taken) do reply[#reply + 1] = task end
return reply
