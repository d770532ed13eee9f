-- Restores one member's job from the database's record of it, for a Redis that restarted empty
-- or an enqueue that reached the database but not Redis. A job Redis still knows (its hash
-- exists, whatever its state) is left as it is: Redis is ahead of the database's record.
-- Returns 'known', 'queued', 'scheduled', 'idle' or 'dead'.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] dead zset
-- KEYS[4] job hash of the member   KEYS[5] wake list
-- ARGV[1] member id        ARGV[2] now_ms           ARGV[3] state: waiting|idle|dead
-- ARGV[4] run_at_ms (waiting only)   ARGV[5] attempts   ARGV[6] message ('' for none)
-- ARGV[7] last outcome ('' for none)   ARGV[8] finished_at_ms ('' for none)
local member, now, state = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local job = KEYS[4]

if redis.call('EXISTS', job) == 1 then
  return 'known'
end
redis.call('HSET', job, 'attempts', ARGV[5])
for i, field in ipairs({'message', 'last_outcome', 'finished_at'}) do
  if ARGV[5 + i] ~= '' then
    redis.call('HSET', job, field, ARGV[5 + i])
  end
end
if state == 'dead' then
  redis.call('ZADD', KEYS[3], now, member)
  redis.call('HSET', job, 'state', 'dead')
  return 'dead'
elseif state == 'idle' then
  redis.call('HSET', job, 'state', 'idle')
  return 'idle'
elseif state ~= 'waiting' then
  return redis.error_reply('unknown state ' .. state)
end
local run_at = tonumber(ARGV[4])
if run_at <= now then
  redis.call('RPUSH', KEYS[1], member)
  redis.call('HSET', job, 'state', 'ready', 'run_at', now)
  redis.call('LPUSH', KEYS[5], 'work')
  redis.call('LTRIM', KEYS[5], 0, 99)
  return 'queued'
end
redis.call('ZADD', KEYS[2], run_at, member)
redis.call('HSET', job, 'state', 'scheduled', 'run_at', run_at)
return 'scheduled'
