-- claim: hand the reaper the leases whose deadline passed. Each claimed
-- lease's deadline moves forward by window_ms at once, so with several
-- servers on one Redis exactly one of them handles it; if that one dies, the
-- deadline comes due again. A lease claimed again and again (a switch that
-- does not answer) waits twice as long each time, up to ten windows.
-- ARGV: prefix, now, limit, window_ms, quarantine_ms, retention_ms
local now = clock(ARGV[2])
local window = tonumber(ARGV[4])
local out = {}
local due = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, job in ipairs(due) do
  local lk = lease_key(job)
  local state = redis.call('HGET', lk, 'state')
  if state == 'held' then
    -- Nothing is on any device yet: abort the hold here and now.
    redis.call('HINCRBY', lk, 'failed_starts', 1)
    finish(lk, job, now, 'failed', 'hold_timeout', tonumber(ARGV[5]), tonumber(ARGV[6]))
    history(job, now, 'reaper', 'abort', 'failed', 'hold_timeout')
  elseif state == 'active' then
    redis.call('HSET', lk, 'state', 'releasing', 'reason', 'expired', 'updated_at', now)
    redis.call('ZADD', P .. 'due', now + window, job)
    history(job, now, 'reaper', 'expire', 'releasing', 'expired')
    out[#out + 1] = {job, 'releasing', redis.call('HGET', lk, 'token')}
  elseif state == 'committing' or state == 'releasing' then
    -- Its worker died or is stuck: take the work over.
    local tries = redis.call('HINCRBY', lk, 'claims', 1)
    redis.call('ZADD', P .. 'due', now + window * math.min(2 ^ (tries - 1), 10), job)
    out[#out + 1] = {job, state, redis.call('HGET', lk, 'token')}
  else
    redis.call('ZREM', P .. 'due', job)
  end
end
return out
