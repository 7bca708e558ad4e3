-- recover_consumer: hand back the commands a dead consumer of a reliable
-- queue had taken and not finished: they go to the head of the queue, in
-- the order it took them, and the consumer is forgotten.
--
-- KEYS[1]  the queue's consumers set
-- KEYS[2]  the consumer's processing list
-- KEYS[3]  the consumer's heartbeat
-- KEYS[4]  the queue
-- ARGV[1]  the consumer id
--
-- Reply: the number of commands handed back, or -1 when the consumer is alive.

if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local n = 0
while redis.call('LMOVE', KEYS[2], KEYS[4], 'RIGHT', 'LEFT') do
  n = n + 1
end
redis.call('SREM', KEYS[1], ARGV[1])
return n
