-- The read half of a fetch: what fetch.lua will write, so that the client can pass it the job
-- hashes in KEYS. Read-only; fetch.lua re-checks all of it. Due is by Redis's clock.
-- Returns {member at the head of the ready list ('' when it is empty), due member...}, the due
-- scheduled members earliest first, at most ARGV[1] of them.
-- KEYS[1] ready list       KEYS[2] scheduled zset
-- ARGV[1] most due members to return
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local due = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
table.insert(due, 1, redis.call('LINDEX', KEYS[1], 0) or '')
return due
