-- commit: held -> committing, or straight to active for a lease that needs
-- nothing configured on any device. ARGV: prefix, token, force(0|1),
-- window_ms, now, actor
local lk = KEYS[1]
local now = clock(ARGV[5])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if ARGV[3] ~= '1' and redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if state ~= 'held' then return {state, fields(lk)} end
local job = redis.call('HGET', lk, 'job')
if redis.call('HGET', lk, 'net') == '0' then
  redis.call('HSET', lk, 'state', 'active', 'updated_at', now)
  redis.call('ZADD', P .. 'due', redis.call('HGET', lk, 'expires_at'), job)
  history(job, now, ARGV[6], 'commit', 'active', 'nothing to configure')
  return {'active', fields(lk)}
end
redis.call('HSET', lk, 'state', 'committing', 'updated_at', now)
redis.call('ZADD', P .. 'due', now + tonumber(ARGV[4]), job)
history(job, now, ARGV[6], 'commit', 'committing', '')
return {'started', fields(lk)}
