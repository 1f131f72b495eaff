-- settle: end a transition begun by commit, release or the reaper.
-- ARGV: prefix, token, from, to, reason, now, quarantine_ms, retention_ms, actor
local lk = KEYS[1]
local now = clock(ARGV[6])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if state ~= ARGV[3] then return {'moved', state} end
local job, to = redis.call('HGET', lk, 'job'), ARGV[4]
if to == 'active' then
  redis.call('HSET', lk, 'state', 'active', 'updated_at', now, 'reason', '')
  redis.call('ZADD', P .. 'due', redis.call('HGET', lk, 'expires_at'), job)
else
  if to == 'failed' then redis.call('HINCRBY', lk, 'failed_starts', 1) end
  finish(lk, job, now, to, ARGV[5], tonumber(ARGV[7]), tonumber(ARGV[8]))
end
history(job, now, ARGV[9], ARGV[3] .. '->' .. to, to, ARGV[5])
return {'ok'}
