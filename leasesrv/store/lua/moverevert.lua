-- moverevert: a migration failed on the devices; the lease takes its old
-- hosts back. What the failed migration may have put on switches joins the
-- residue, and the move comes due at once so that it is removed.
-- ARGV: prefix, token, move, hosts(json), core, now, actor, then the sites
local lk = KEYS[1]
local hosts, core, now, actor, sites = ARGV[4], ARGV[5], clock(ARGV[6]), ARGV[7], rest(8)
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if redis.call('HGET', lk, 'move') ~= ARGV[3] then return {'moved', 'migrated again'} end
if state ~= 'active' then return {'moved', state} end
local job = redis.call('HGET', lk, 'job')
local rsites, rcores = held_sites(lk), held_cores(lk)
local rhosts = set_of(hosts_of(lk, 'rhosts'))
for _, h in ipairs(hosts_of(lk, 'hosts')) do rhosts[h] = true end
for _, h in ipairs(cjson.decode(hosts)) do rhosts[h] = nil end
for _, s in ipairs(sites) do rsites[s] = nil end
rcores[core] = nil
redis.call('HSET', lk, 'hosts', hosts, 'sites', table.concat(sites, ','), 'core', core, 'updated_at', now,
  'rhosts', json_list(sorted_keys(rhosts)), 'rsites', table.concat(sorted_keys(rsites), ','),
  'rcores', table.concat(sorted_keys(rcores), ','))
redis.call('HINCRBY', lk, 'move', 1)
redis.call('ZADD', P .. 'moving', now, job)
history(job, now, actor, 'patch', 'reverted', hosts)
return {'ok', fields(lk)}
