-- release: a live lease starts its teardown. A held lease, or one that needs
-- nothing configured on any device, has nothing to remove and ends at once.
-- ARGV: prefix, token, force(0|1), reason, window_ms, now, quarantine_ms,
-- retention_ms, actor
local lk = KEYS[1]
local now = clock(ARGV[6])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if ARGV[3] ~= '1' and redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if not live(state) or state == 'releasing' then return {state, fields(lk)} end
local job = redis.call('HGET', lk, 'job')
if state == 'held' or (state == 'active' and redis.call('HGET', lk, 'net') == '0') then
  finish(lk, job, now, 'released', ARGV[4], tonumber(ARGV[7]), tonumber(ARGV[8]))
  history(job, now, ARGV[9], 'release', 'released', ARGV[4])
  return {'released', fields(lk)}
end
redis.call('HSET', lk, 'state', 'releasing', 'reason', ARGV[4], 'updated_at', now)
redis.call('ZADD', P .. 'due', now + tonumber(ARGV[5]), job)
history(job, now, ARGV[9], 'release', 'releasing', ARGV[4])
return {'started', fields(lk)}
