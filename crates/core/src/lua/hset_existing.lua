-- Sets fields of a member's hash, only if the member exists, so a late writer (a worker
-- finishing after the member left, a callback racing a deletion) cannot resurrect a deleted
-- member as a partial record. Returns 1 when written, 0 when the member does not exist.
-- KEYS[1] member hash
-- ARGV    field, value, field, value, ...
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
