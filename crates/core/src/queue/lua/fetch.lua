-- Leases the next member whose sync may run now, first promoting scheduled runs that are due.
-- Returns {member id, failed attempts so far}, or false when nothing may run.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] leases zset
-- ARGV[1] now_ms           ARGV[2] lease_ms         ARGV[3] fencing token for this lease
-- ARGV[4] prefix of job hash keys (the member id is appended)
local now, lease_ms, token, job_prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]

local due = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[2], member)
  redis.call('RPUSH', KEYS[1], member)
  redis.call('HSET', job_prefix .. member, 'state', 'ready')
end

local member = redis.call('LPOP', KEYS[1])
if not member then
  return false
end
redis.call('ZADD', KEYS[3], now + lease_ms, member)
redis.call('HSET', job_prefix .. member, 'state', 'running', 'token', token, 'rerun', 0,
  'progressed', 0, 'started_at', now)
return {member, tonumber(redis.call('HGET', job_prefix .. member, 'attempts') or '0')}
