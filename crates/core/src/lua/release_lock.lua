-- Releases a lock, only for its holder (a holder whose lock expired must not release the next
-- holder's). Returns 1 when released, 0 when the lock was no longer held by this token.
-- KEYS[1] lock key         ARGV[1] the holder's token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
