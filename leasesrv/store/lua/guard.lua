-- guard: right before a device write, check that this process still holds the
-- switch's lock and that the lease still has this token and an expected
-- state; extend the lock. Devices know nothing of fencing tokens, so this is
-- where a late writer is stopped. With a switch named, record its journal
-- step as started in the same step: a step is started only when its write is
-- allowed, and the write costs one round trip less. ARGV: prefix, lock
-- value, lock_ms, job, token, move (a migration's number, or "": a later
-- migration of the same lease fences out the writes of an earlier one),
-- switch (or ""), then the states
local lock = KEYS[1]
if redis.call('GET', lock) ~= ARGV[2] then return {'lock_lost'} end
local lk = lease_key(ARGV[4])
if redis.call('HGET', lk, 'token') ~= ARGV[5] then return {'stale'} end
local state = redis.call('HGET', lk, 'state')
local ok = false
for _, s in ipairs(rest(8)) do if s == state then ok = true end end
if not ok then return {'moved', state or 'gone'} end
if ARGV[6] ~= '' and redis.call('HGET', lk, 'move') ~= ARGV[6] then return {'moved', 'migrated again'} end
redis.call('PEXPIRE', lock, tonumber(ARGV[3]))
if ARGV[7] ~= '' then redis.call('HSET', P .. 'journal:' .. ARGV[4], 'step:' .. ARGV[7], 'started') end
return {'ok'}
