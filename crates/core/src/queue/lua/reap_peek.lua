-- The read half of a reap: the members whose lease expired by Redis's clock, so that the
-- client can pass reap.lua their job hashes in KEYS. Read-only; reap.lua re-checks each.
-- Returns the members, earliest expiry first, at most ARGV[1] of them.
-- KEYS[1] leases zset
-- ARGV[1] most members to return
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
return redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
