-- Leases the member at the head of the ready list, first promoting scheduled runs that are due.
-- Times are Redis's (the lease's expiry and started_at, and what is due), never a worker's: a
-- worker whose clock is off must neither lose its live lease to a reaper nor run a job early.
-- What the client read in fetch_peek.lua may have changed since: a member no longer scheduled,
-- or not due, is not promoted, and when the head is not the member expected nothing is leased
-- ('moved': the client tries again with that head, whose job hash it did not pass).
-- Returns {'leased', failed attempts so far, started_at_ms}, {'moved', member at the head}, or
-- false when the ready list is empty.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] leases zset
-- KEYS[4] job hash of the member expected at the head
-- KEYS[4 + i] job hash of the i-th member to promote
-- ARGV[1] lease_ms         ARGV[2] fencing token for this lease
-- ARGV[3] member expected at the head   ARGV[3 + i] i-th member to promote, if still due
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local lease_ms, token, expected, job = tonumber(ARGV[1]), ARGV[2], ARGV[3], KEYS[4]

for i = 4, #ARGV do
  local member = ARGV[i]
  local at = redis.call('ZSCORE', KEYS[2], member)
  if at and tonumber(at) <= now then
    redis.call('ZREM', KEYS[2], member)
    redis.call('RPUSH', KEYS[1], member)
    redis.call('HSET', KEYS[i + 1], 'state', 'ready')
  end
end

local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  return false
end
if head ~= expected then
  return {'moved', head}
end
redis.call('LPOP', KEYS[1])
redis.call('ZADD', KEYS[3], now + lease_ms, head)
redis.call('HSET', job, 'state', 'running', 'token', token, 'rerun', 0, 'progressed', 0,
  'started_at', string.format('%d', now))
return {'leased', tonumber(redis.call('HGET', job, 'attempts') or '0'), now}
