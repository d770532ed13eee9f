-- Hands back the leases of workers that stopped heart-beating (crashed, killed, partitioned).
-- An interruption counts as an attempt unless the run saved progress first, so a member whose
-- sync crashes the worker every time ends in the dead set instead of looping, while a long
-- import on workers that keep being restarted goes on. Expiry is by Redis's clock, the one
-- every lease was given and extended by, so a reaper whose clock is off reaps no live lease.
-- The members come from reap_peek.lua and may have changed since: a lease extended since, or
-- gone (completed, or reaped by another worker), is left alone.
-- Returns, for each lease reaped, its member, the fencing token it had, where the job went
-- ('ready' or 'dead'), its attempts and Redis's time of the reaping, in ms.
-- KEYS[1] ready list       KEYS[2] leases zset      KEYS[3] dead zset    KEYS[4] wake list
-- KEYS[4 + i] job hash of the i-th member
-- ARGV[1] max_attempts     ARGV[1 + i] i-th member whose lease had expired
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local now_ms = string.format('%d', now)
local max_attempts = tonumber(ARGV[1])
local reaped = {}
for i = 2, #ARGV do
  local member, job = ARGV[i], KEYS[i + 3]
  local expiry = redis.call('ZSCORE', KEYS[2], member)
  if expiry and tonumber(expiry) <= now then
    local token = redis.call('HGET', job, 'token') or ''
    redis.call('ZREM', KEYS[2], member)
    redis.call('HDEL', job, 'token')
    redis.call('HSET', job, 'message', 'The previous run was interrupted.', 'last_outcome', 'interrupted')
    local attempts = tonumber(redis.call('HGET', job, 'attempts') or '0')
    if redis.call('HGET', job, 'progressed') ~= '1' then
      attempts = redis.call('HINCRBY', job, 'attempts', 1)
    end
    local state = 'ready'
    if attempts >= max_attempts then
      state = 'dead'
      redis.call('ZADD', KEYS[3], now, member)
      redis.call('HSET', job, 'state', 'dead', 'rerun', 0)
    else
      redis.call('RPUSH', KEYS[1], member)
      redis.call('HSET', job, 'state', 'ready', 'run_at', now_ms)
      redis.call('LPUSH', KEYS[4], 'work')
      redis.call('LTRIM', KEYS[4], 0, 99)
    end
    table.insert(reaped, {member, token, state, attempts, now})
  end
end
return reaped
