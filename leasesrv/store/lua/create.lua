-- create: grant a lease to a job, or return the one it has.
-- ARGV: prefix, job, owner, hosts(json), ttl_ms, attrs(json), hold_ms, now,
--       actor, net(0|1: the lease needs devices configured), core ("" when
--       the lease stays on one switch), then the sites
local job, lk = ARGV[2], KEYS[1]
local owner, hosts, ttl, attrs, hold = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local now, actor, net, core, sites = clock(ARGV[8]), ARGV[9], ARGV[10], ARGV[11], rest(12)
local state = redis.call('HGET', lk, 'state')
local failed = 0
if state then
  if live(state) then
    if redis.call('HGET', lk, 'hosts') == hosts then return {'exists', fields(lk)} end
    return {'conflict'}
  end
  failed = tonumber(redis.call('HGET', lk, 'failed_starts') or '0')
end

-- The free sets the VLAN must be in: every site's, and the core's.
local order = {}
for i, site in ipairs(sites) do
  unquarantine(site, now)
  order[i] = {key = P .. 'free:' .. site}
end
if core ~= '' then
  unquarantine_core(core, now)
  order[#order + 1] = {key = P .. 'cfree:' .. core}
end
for _, o in ipairs(order) do o.n = redis.call('ZCARD', o.key) end
table.sort(order, function(a, b) return a.n < b.n end)

-- Walk the smallest free set in ascending VLAN order and take the first VLAN
-- free in every other set too: cheap whether the pools are full or empty.
local vid = nil
local smallest = order[1].key
local offset, batch = 0, 128
while vid == nil do
  local cands = redis.call('ZRANGE', smallest, offset, offset + batch - 1)
  if #cands == 0 then break end
  for _, c in ipairs(cands) do
    local ok = true
    for i = 2, #order do
      if not redis.call('ZSCORE', order[i].key, c) then ok = false; break end
    end
    if ok then vid = c; break end
  end
  offset = offset + batch
end
if vid == nil then return {'exhausted'} end

for _, site in ipairs(sites) do
  redis.call('ZREM', P .. 'free:' .. site, vid)
  redis.call('HSET', P .. 'used:' .. site, vid, job)
end
if core ~= '' then core_take(core, vid, job) end
local token = redis.call('INCR', P .. 'fence')
redis.call('DEL', lk)
redis.call('HSET', lk, 'job', job, 'owner', owner, 'hosts', hosts, 'sites', table.concat(sites, ','),
  'vlan', vid, 'state', 'held', 'token', token, 'created_at', now, 'updated_at', now,
  'expires_at', now + ttl, 'failed_starts', failed, 'attrs', attrs, 'reason', '', 'net', net, 'core', core, 'move', 0)
redis.call('ZADD', P .. 'due', now + math.min(hold, ttl), job)
redis.call('ZREM', P .. 'purge', job)
redis.call('SADD', P .. 'jobs', job)
history(job, now, actor, 'create', 'held', 'vlan ' .. vid .. ' token ' .. token)
return {'created', fields(lk)}
