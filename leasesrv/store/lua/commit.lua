-- commit: held -> committing. ARGV: prefix, token, force(0|1), window_ms, now, actor
local lk = KEYS[1]
local now = clock(ARGV[5])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if ARGV[3] ~= '1' and redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if state ~= 'held' then return {state} end
local job = redis.call('HGET', lk, 'job')
redis.call('HSET', lk, 'state', 'committing', 'updated_at', now)
redis.call('ZADD', P .. 'due', now + tonumber(ARGV[4]), job)
history(job, now, ARGV[6], 'commit', 'committing', '')
return {'started'}
