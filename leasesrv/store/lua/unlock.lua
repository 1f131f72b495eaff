-- unlock: delete a lock only if this process still holds it.
-- ARGV: prefix, lock value
if redis.call('GET', KEYS[1]) == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0
