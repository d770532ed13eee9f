-- Ends a lease with the run's outcome. Rejected as 'stale' when the fencing token no longer
-- matches (the lease expired and was reaped), so a late worker cannot reschedule anything.
--   ok     success: attempts reset; a re-run asked for during the run goes straight back to
--          ready ('requeued'), otherwise the next periodic run is scheduled at run_at_ms
--   later  a wait that is not a failure (quota): scheduled at run_at_ms, attempts unchanged
--   retry  a failure: attempts + 1; at max_attempts the job goes to the dead set ('dead');
--          otherwise a re-run asked for during this run (the member acted) goes back to ready,
--          else it is scheduled at run_at_ms (the caller's backoff)
--   park   the member must act first (reconnect): no run is scheduled unless one was asked for
--          during this run
--   gone   the member left: the job is deleted ('forgotten'), unless a run was asked for
--          during this one (they came back), which goes back to ready
-- The run ends at Redis's time, which the client records in the database too: a job requeued
-- now must be due by the clock a rebuild and the promotion of scheduled runs go by.
-- Returns {what was done, Redis's time of the end in ms}.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] leases zset
-- KEYS[4] dead zset        KEYS[5] job hash of the member   KEYS[6] wake list
-- ARGV[1] member id        ARGV[2] fencing token    ARGV[3] outcome: ok|later|retry|park|gone
-- ARGV[4] run_at_ms        ARGV[5] max_attempts
-- ARGV[6] message for the member's status ('' for none)
local member, token, outcome = ARGV[1], ARGV[2], ARGV[3]
local run_at, max_attempts, message = ARGV[4], tonumber(ARGV[5]), ARGV[6]
local job = KEYS[5]
local time = redis.call('TIME')
local now = string.format('%d', time[1] * 1000 + math.floor(time[2] / 1000))

local function ended(reply)
  return {reply, now}
end

if redis.call('HGET', job, 'token') ~= token then
  return ended('stale')
end
redis.call('ZREM', KEYS[3], member)
redis.call('HDEL', job, 'token')
redis.call('HSET', job, 'finished_at', now, 'last_outcome', outcome)
if message == '' then
  redis.call('HDEL', job, 'message')
else
  redis.call('HSET', job, 'message', message)
end

local function requeue()
  redis.call('RPUSH', KEYS[1], member)
  redis.call('HSET', job, 'state', 'ready', 'rerun', 0, 'run_at', now)
  redis.call('LPUSH', KEYS[6], 'work')
  redis.call('LTRIM', KEYS[6], 0, 99)
  return ended('requeued')
end

local function schedule()
  redis.call('ZADD', KEYS[2], run_at, member)
  redis.call('HSET', job, 'state', 'scheduled', 'run_at', run_at)
  return ended('scheduled')
end

local rerun = redis.call('HGET', job, 'rerun') == '1'
if outcome == 'ok' then
  redis.call('HSET', job, 'attempts', 0)
  if rerun then return requeue() end
  return schedule()
elseif outcome == 'later' then
  return schedule()
elseif outcome == 'retry' then
  if redis.call('HINCRBY', job, 'attempts', 1) >= max_attempts then
    redis.call('ZADD', KEYS[4], now, member)
    redis.call('HSET', job, 'state', 'dead', 'rerun', 0)
    return ended('dead')
  end
  if rerun then return requeue() end
  return schedule()
elseif outcome == 'park' then
  if rerun then return requeue() end
  redis.call('HSET', job, 'state', 'idle')
  return ended('parked')
elseif outcome == 'gone' then
  if rerun then return requeue() end
  redis.call('DEL', job)
  return ended('forgotten')
end
return redis.error_reply('unknown outcome ' .. outcome)
