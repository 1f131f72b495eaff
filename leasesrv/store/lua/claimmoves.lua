-- claimmoves: hand the caller the migrations whose window passed (their
-- worker died, or a revert left residue to remove). Each claimed deadline
-- moves forward by window_ms at once, so one server finishes each.
-- ARGV: prefix, now, limit, window_ms
local now = clock(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', P .. 'moving', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, job in ipairs(due) do
  if live(redis.call('HGET', lease_key(job), 'state')) then
    redis.call('ZADD', P .. 'moving', now + tonumber(ARGV[4]), job)
  else
    redis.call('ZREM', P .. 'moving', job)
  end
end
return due
