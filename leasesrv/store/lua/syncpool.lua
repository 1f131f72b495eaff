-- syncpool: make a site's or a core's pool the configured one; free = pool
-- - used - quarantined. Idempotent, so every server may run it at start.
-- ARGV: prefix, kind (site | core), name, now, then the VLANs
local k = keys(ARGV[2], ARGV[3])
local now, vids = clock(ARGV[4]), rest(5)
redis.call('DEL', k.pool, k.free)
for _, vid in ipairs(vids) do redis.call('SADD', k.pool, vid) end
release_due(k, now)
for _, vid in ipairs(vids) do
  if redis.call('HEXISTS', k.used, vid) == 0 and not redis.call('ZSCORE', k.quar, vid) then
    redis.call('ZADD', k.free, tonumber(vid), vid)
  end
end
return redis.call('ZCARD', k.free)
