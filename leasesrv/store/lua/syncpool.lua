-- syncpool: make a site's or a core's pool the configured one; free = pool
-- - used - quarantined. Idempotent, so every server may run it at start.
-- ARGV: prefix, kind (site | core), name, now, vid...
local k = keys(ARGV[2], ARGV[3])
local now = clock(ARGV[4])
redis.call('DEL', k.pool, k.free)
for i = 5, #ARGV do redis.call('SADD', k.pool, ARGV[i]) end
release_due(k, now)
for i = 5, #ARGV do
  local vid = ARGV[i]
  if redis.call('HEXISTS', k.used, vid) == 0 and not redis.call('ZSCORE', k.quar, vid) then
    redis.call('ZADD', k.free, tonumber(vid), vid)
  end
end
return redis.call('ZCARD', k.free)
