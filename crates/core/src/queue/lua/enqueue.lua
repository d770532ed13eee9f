-- Asks for a member's sync to run at run_at_ms (now or later).
-- Keeps the invariant: a member is in at most one of ready / scheduled / leases.
--   running       -> marks a re-run after the current one ('coalesced')
--   ready         -> nothing to do ('exists')
--   scheduled     -> moves the run earlier if asked for an earlier time ('exists')
--   idle or dead  -> queued now ('queued') or scheduled ('scheduled'); a dead job starts afresh
-- now_ms is the caller's clock, not Redis's: run_at is an application time chosen by that
-- clock, so "run now" from a process whose clock is ahead is queued, not scheduled for later.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] leases zset
-- KEYS[4] dead zset        KEYS[5] job hash of the member   KEYS[6] wake list
-- ARGV[1] member id        ARGV[2] now_ms           ARGV[3] run_at_ms
local member, now, run_at = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

if redis.call('ZSCORE', KEYS[3], member) then
  redis.call('HSET', KEYS[5], 'rerun', 1)
  return 'coalesced'
end
if redis.call('HGET', KEYS[5], 'state') == 'ready' then
  return 'exists'
end
local scheduled = redis.call('ZSCORE', KEYS[2], member)
if scheduled and run_at >= tonumber(scheduled) then
  return 'exists'
end
if redis.call('ZREM', KEYS[4], member) == 1 then
  redis.call('HSET', KEYS[5], 'attempts', 0)
end
if run_at <= now then
  redis.call('ZREM', KEYS[2], member)
  redis.call('RPUSH', KEYS[1], member)
  redis.call('HSET', KEYS[5], 'state', 'ready', 'run_at', now)
  redis.call('LPUSH', KEYS[6], 'work')
  redis.call('LTRIM', KEYS[6], 0, 99)
  return 'queued'
end
redis.call('ZADD', KEYS[2], run_at, member)
redis.call('HSET', KEYS[5], 'state', 'scheduled', 'run_at', run_at)
return 'scheduled'
