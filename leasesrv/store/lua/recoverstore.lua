-- recoverstore: rebuild a safe state after Redis lost or rolled back its data.
-- The fencing counter never goes backwards; every VLAN the switches carry in a
-- managed range without a live lease is reserved as an orphan ('!orphan' in
-- used:<site> and, on an uplink, cused:<core>), so no grant hands it out; the
-- orphans of an earlier recovery that the switches no longer carry go back to
-- the free sets; a new identity is written and marked as a recovery's.
-- ARGV: prefix, new identity, lowest fence allowed, then site, core ('' when
-- not on an uplink), vid triples, one per site and VLAN. Returns the fence, then the
-- site, core, vid triples it reserved.
local fence = math.max(tonumber(redis.call('GET', P .. 'fence') or '0'), tonumber(ARGV[3]))
redis.call('SET', P .. 'fence', fence)
local function unmark(used, free, pool, quar, vid)
  if redis.call('HGET', used, vid) ~= '!orphan' then return end
  redis.call('HDEL', used, vid)
  if redis.call('SISMEMBER', pool, vid) == 1 and not redis.call('ZSCORE', quar, vid) then
    redis.call('ZADD', free, tonumber(vid), vid)
  end
end
for _, f in ipairs(redis.call('HKEYS', P .. 'orphans')) do
  local site, vid = string.match(f, '^(.*):(%d+)$')
  unmark(P .. 'used:' .. site, P .. 'free:' .. site, P .. 'pool:' .. site, P .. 'quar:' .. site, vid)
  local core = redis.call('HGET', P .. 'orphans', f)
  if core ~= '' then
    unmark(P .. 'cused:' .. core, P .. 'cfree:' .. core, P .. 'cpool:' .. core, P .. 'cquar:' .. core, vid)
  end
end
redis.call('DEL', P .. 'orphans')
local out = {tostring(fence)}
local function mark(used, free, vid)
  if redis.call('HEXISTS', used, vid) == 1 then return false end
  redis.call('HSET', used, vid, '!orphan')
  redis.call('ZREM', free, vid)
  return true
end
for i = 4, #ARGV, 3 do
  local site, core, vid = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local a = mark(P .. 'used:' .. site, P .. 'free:' .. site, vid)
  local b = core ~= '' and mark(P .. 'cused:' .. core, P .. 'cfree:' .. core, vid)
  if a or b then
    redis.call('HSET', P .. 'orphans', site .. ':' .. vid, b and core or '')
    out[#out + 1] = site
    out[#out + 1] = b and core or ''
    out[#out + 1] = vid
  end
end
redis.call('SET', P .. 'id', ARGV[2])
redis.call('SET', P .. 'recovered', ARGV[2])
return out
