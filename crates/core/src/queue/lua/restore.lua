-- Restores one member's job from the database's record of it, for a Redis that restarted empty
-- or an enqueue that reached the database but not Redis. A job Redis still knows is left as it
-- is (Redis is ahead of the record), except that
--   mode 'record':  a job scheduled later than the record says is moved to the record's time
--                   (an earlier run was asked for, and its Redis half was lost);
--   mode 'erasure': a parked job is queued now (an erasure is owed whatever parked it).
-- A run due by Redis's clock is queued, a later one scheduled: the same test the promotion of
-- scheduled runs makes, so a restoring worker whose clock is off runs nothing early.
-- Returns 'known', 'moved', 'queued', 'scheduled', 'idle' or 'dead'.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] dead zset
-- KEYS[4] job hash of the member   KEYS[5] wake list
-- ARGV[1] member id        ARGV[2] state: waiting|idle|dead
-- ARGV[3] run_at_ms (waiting only)   ARGV[4] attempts   ARGV[5] message ('' for none)
-- ARGV[6] last outcome ('' for none)   ARGV[7] finished_at_ms ('' for none)
-- ARGV[8] mode: record|erasure
local member, state, mode = ARGV[1], ARGV[2], ARGV[8]
local job = KEYS[4]
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)

local function queue_at(run_at)
  if run_at <= now then
    redis.call('ZREM', KEYS[2], member)
    redis.call('RPUSH', KEYS[1], member)
    redis.call('HSET', job, 'state', 'ready', 'run_at', string.format('%d', now))
    redis.call('LPUSH', KEYS[5], 'work')
    redis.call('LTRIM', KEYS[5], 0, 99)
    return 'queued'
  end
  redis.call('ZADD', KEYS[2], run_at, member)
  redis.call('HSET', job, 'state', 'scheduled', 'run_at', run_at)
  return 'scheduled'
end

if redis.call('EXISTS', job) == 1 then
  local current = redis.call('HGET', job, 'state')
  if mode == 'erasure' and current == 'idle' then
    return queue_at(now)
  end
  if mode == 'record' and state == 'waiting' and current == 'scheduled' then
    local at = tonumber(redis.call('ZSCORE', KEYS[2], member))
    if at and tonumber(ARGV[3]) < at then
      queue_at(tonumber(ARGV[3]))
      return 'moved'
    end
  end
  return 'known'
end
redis.call('HSET', job, 'attempts', ARGV[4])
for i, field in ipairs({'message', 'last_outcome', 'finished_at'}) do
  if ARGV[4 + i] ~= '' then
    redis.call('HSET', job, field, ARGV[4 + i])
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
return queue_at(tonumber(ARGV[3]))
