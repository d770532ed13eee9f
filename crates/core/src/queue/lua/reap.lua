-- Hands back the leases of workers that stopped heart-beating (crashed, killed, partitioned).
-- An interruption counts as an attempt unless the run saved progress first, so a member whose
-- sync crashes the worker every time ends in the dead set instead of looping, while a long
-- import on workers that keep being restarted goes on. Returns, for each lease reaped, its
-- member, the fencing token it had, where the job went ('ready' or 'dead') and its attempts.
-- KEYS[1] ready list       KEYS[2] leases zset      KEYS[3] dead zset    KEYS[4] wake list
-- ARGV[1] now_ms           ARGV[2] prefix of job hash keys   ARGV[3] max_attempts
local now, job_prefix, max_attempts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local expired = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, 100)
local reaped = {}
for _, member in ipairs(expired) do
  local job = job_prefix .. member
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
    redis.call('HSET', job, 'state', 'ready', 'run_at', now)
    redis.call('LPUSH', KEYS[4], 'work')
    redis.call('LTRIM', KEYS[4], 0, 99)
  end
  table.insert(reaped, {member, token, state, attempts})
end
return reaped
