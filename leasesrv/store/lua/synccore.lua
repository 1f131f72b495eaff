-- synccore: make a core's pool the union of its sites' pools; free = pool -
-- used - quarantined on the core. Idempotent, so every server may run it.
-- ARGV: prefix, core, now, vid...
local core = ARGV[2]
local now = clock(ARGV[3])
local pool, free = P .. 'cpool:' .. core, P .. 'cfree:' .. core
redis.call('DEL', pool, free)
for i = 4, #ARGV do redis.call('SADD', pool, ARGV[i]) end
unquarantine_core(core, now)
local used, quar = P .. 'cused:' .. core, P .. 'cquar:' .. core
for i = 4, #ARGV do
  local vid = ARGV[i]
  if redis.call('HEXISTS', used, vid) == 0 and not redis.call('ZSCORE', quar, vid) then
    redis.call('ZADD', free, tonumber(vid), vid)
  end
end
return redis.call('ZCARD', free)
