-- Finishes an erasure once the member's staged files are deleted: drops what the import knows
-- (cursors, pending periods, the last sync) from the member's record if it still exists, then
-- clears the request, so a crash before this point repeats the whole erasure.
-- KEYS[1] member hash      KEYS[2] hash of the erasures requested, by member id
-- ARGV[1] member id        ARGV[2] prefix of the cursor fields
-- ARGV[3..] other fields of the import to delete
local fields = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, string.len(ARGV[2])) == ARGV[2] then
    table.insert(fields, field)
  end
end
for i = 3, #ARGV do
  table.insert(fields, ARGV[i])
end
redis.call('HDEL', KEYS[1], unpack(fields))
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
