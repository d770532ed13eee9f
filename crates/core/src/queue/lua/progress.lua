-- Records that the current run saved progress (a cursor moved), so that if it is interrupted
-- the interruption is not counted as a failed attempt: a long import on workers that keep
-- being restarted still finishes, while a run that crashes before saving anything ends in the
-- dead set after max_attempts. Fenced: a stale lease cannot mark a newer run.
-- KEYS[1] job hash of the member
-- ARGV[1] fencing token of the lease
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'progressed', 1)
return 1
