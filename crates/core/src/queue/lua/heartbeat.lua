-- Extends a lease, only for the holder of the current fencing token, from Redis's clock (the
-- one the reaper measures expiry by, whatever the worker's clock says).
-- Returns 1 when extended, 0 when the lease was lost (reaped and handed on, or completed).
-- KEYS[1] leases zset      KEYS[2] job hash of the member
-- ARGV[1] member id        ARGV[2] fencing token    ARGV[3] extension from now, ms
if redis.call('HGET', KEYS[2], 'token') ~= ARGV[2] or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1
