-- take_task: take the first queued task this slave has not taken before.
-- A slave never spins on a task it already tried: it takes the next one,
-- and the task stays queued for the other slaves.
--
-- KEYS[1]  taskset task_queue list
-- KEYS[2]  slave tried set (task keys this slave has taken)
-- ARGV[1]  how many queued tasks to look at, from the head
--
-- Reply: {'ok', task key} | {'empty', ''} when the queue is empty |
--        {'tried', ''} when every task looked at was taken by this slave.

local limit = tonumber(ARGV[1])
if not limit or limit < 1 then return bad('scan limit must be a positive number') end
local head = redis.call('LRANGE', KEYS[1], 0, limit - 1)
if #head == 0 then return {'empty', ''} end
for _, task in ipairs(head) do
  if redis.call('SISMEMBER', KEYS[2], task) == 0 then
    redis.call('LREM', KEYS[1], 1, task)
    redis.call('SADD', KEYS[2], task)
    return {'ok', task}
  end
end
return {'tried', ''}
