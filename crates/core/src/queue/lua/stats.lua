-- Counts the jobs in each state in one atomic read. Due and expired are by Redis's clock, the
-- one scheduled runs are promoted and leases reaped by, so an operator reading it on a machine
-- whose clock is off sees what the workers will do.
-- Returns {ready, scheduled, due, running, expired leases, dead}.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] leases zset   KEYS[4] dead zset
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
return {
  redis.call('LLEN', KEYS[1]),
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCOUNT', KEYS[2], '-inf', now),
  redis.call('ZCARD', KEYS[3]),
  redis.call('ZCOUNT', KEYS[3], '-inf', now),
  redis.call('ZCARD', KEYS[4]),
}
