-- renew: a new expiry, ttl from now. ARGV: prefix, token, ttl_ms, now, actor
local lk = KEYS[1]
local now = clock(ARGV[4])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if state ~= 'held' and state ~= 'committing' and state ~= 'active' then return {state} end
local job = redis.call('HGET', lk, 'job')
local exp = now + tonumber(ARGV[3])
redis.call('HSET', lk, 'expires_at', exp, 'updated_at', now)
if state == 'active' then redis.call('ZADD', P .. 'due', exp, job) end
history(job, now, ARGV[5], 'renew', state, 'expires ' .. exp)
return {'ok', fields(lk)}
