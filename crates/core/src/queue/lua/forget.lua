-- Removes a member's job: the member left, or the operator dropped them. A running job keeps
-- its lease (its worker finds the member gone and completes it), so only waiting states go.
-- KEYS[1] ready list       KEYS[2] scheduled zset   KEYS[3] leases zset
-- KEYS[4] dead zset        KEYS[5] job hash of the member
-- ARGV[1] member id
local member = ARGV[1]
redis.call('LREM', KEYS[1], 0, member)
redis.call('ZREM', KEYS[2], member)
redis.call('ZREM', KEYS[4], member)
if redis.call('ZSCORE', KEYS[3], member) then
  return 'running'
end
redis.call('DEL', KEYS[5])
return 'forgotten'
