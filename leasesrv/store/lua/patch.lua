-- patch: change a live lease's hosts (migration). Only the difference from
-- the hosts the caller read is applied; if another patch changed them since,
-- the caller reads again. New sites (and a new core) must have the VLAN free
-- under the allocation rule. What the lease leaves becomes its residue: still
-- reserved, because the switches still carry it, until move_done says they
-- no longer do. A held lease has nothing on any device and gives it back at
-- once, through quarantine.
-- ARGV: prefix, token, expected hosts(json), hosts(json), core, now, actor,
--       net(0|1), window_ms, quarantine_ms, then the sites
local lk = KEYS[1]
local token, expected, hosts, core = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, actor, net = clock(ARGV[6]), ARGV[7], ARGV[8]
local window, quarantine, sites = tonumber(ARGV[9]), tonumber(ARGV[10]), rest(11)
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= token then return {'stale'} end
if state ~= 'held' and state ~= 'active' then return {state} end
local job, vid = redis.call('HGET', lk, 'job'), redis.call('HGET', lk, 'vlan')
if redis.call('ZSCORE', P .. 'moving', job) then return {'busy'} end
if redis.call('HGET', lk, 'hosts') ~= expected then return {'changed'} end

local have_sites, have_cores = held_sites(lk), held_cores(lk)
for _, site in ipairs(sites) do
  if not have_sites[site] then
    unquarantine(site, now)
    if not redis.call('ZSCORE', P .. 'free:' .. site, vid) then return {'exhausted', 'site ' .. site} end
  end
end
if core ~= '' and not have_cores[core] then
  unquarantine_core(core, now)
  if not core_free(core, vid) then return {'exhausted', 'core ' .. core} end
end
for _, site in ipairs(sites) do
  if not have_sites[site] then
    redis.call('ZREM', P .. 'free:' .. site, vid)
    redis.call('HSET', P .. 'used:' .. site, vid, job)
  end
end
if core ~= '' and not have_cores[core] then core_take(core, vid, job) end

-- The residue: everything held before that the new reach does not cover.
local new_sites, new_hosts = set_of(sites), set_of(cjson.decode(hosts))
local rhosts = set_of(hosts_of(lk, 'rhosts'))
for _, h in ipairs(hosts_of(lk, 'hosts')) do rhosts[h] = true end
for h in pairs(new_hosts) do rhosts[h] = nil end
for s in pairs(new_sites) do have_sites[s] = nil end
have_cores[core] = nil
local rsites, rcores = sorted_keys(have_sites), sorted_keys(have_cores)

redis.call('HSET', lk, 'hosts', hosts, 'sites', table.concat(sites, ','), 'core', core, 'updated_at', now, 'net', net)
if state == 'held' or net == '0' then
  give_back_at(job, vid, rsites, rcores, now, quarantine)
  redis.call('HDEL', lk, 'rhosts', 'rsites', 'rcores')
  history(job, now, actor, 'patch', state, hosts)
  return {'ok', fields(lk)}
end
redis.call('HSET', lk, 'rhosts', json_list(sorted_keys(rhosts)), 'rsites', table.concat(rsites, ','), 'rcores', table.concat(rcores, ','))
redis.call('HINCRBY', lk, 'move', 1)
redis.call('ZADD', P .. 'moving', now + window, job)
history(job, now, actor, 'patch', 'moving', hosts)
return {'ok', fields(lk)}
