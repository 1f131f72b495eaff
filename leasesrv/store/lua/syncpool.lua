-- syncpool: make a site's pool the configured one; free = pool - used -
-- quarantined. Idempotent, so every server may run it at start.
-- ARGV: prefix, site, now, vid...
local site = ARGV[2]
local now = clock(ARGV[3])
local pool, free = P .. 'pool:' .. site, P .. 'free:' .. site
redis.call('DEL', pool, free)
for i = 4, #ARGV do redis.call('SADD', pool, ARGV[i]) end
unquarantine(site, now)
local used, quar = P .. 'used:' .. site, P .. 'quar:' .. site
for i = 4, #ARGV do
  local vid = ARGV[i]
  if redis.call('HEXISTS', used, vid) == 0 and not redis.call('ZSCORE', quar, vid) then
    redis.call('ZADD', free, tonumber(vid), vid)
  end
end
return redis.call('ZCARD', free)
