-- Replaces a member's tokens only if they are still the revision the caller refreshed from, so a
-- refresh that raced a reconnect (the member granted access again meanwhile) cannot overwrite
-- the newer grant. Returns 1 when written, 0 when the revision changed, -1 when the member is gone.
-- KEYS[1] member hash
-- ARGV[1] revision field   ARGV[2] expected revision   ARGV[3] new revision
-- ARGV[4] tokens field     ARGV[5] sealed tokens
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3], ARGV[4], ARGV[5])
return 1
