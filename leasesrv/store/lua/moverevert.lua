-- moverevert: a migration failed on the devices; the lease takes its old
-- hosts back. What the failed migration may have put on switches joins the
-- residue, and the move comes due at once so that it is removed.
-- ARGV: prefix, token, move, hosts(json), sites(csv), core, now, actor
local lk = KEYS[1]
local now = clock(ARGV[7])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if redis.call('HGET', lk, 'move') ~= ARGV[3] then return {'moved', 'migrated again'} end
if state ~= 'active' then return {'moved', state} end
local job = redis.call('HGET', lk, 'job')
local sites, core = split(ARGV[5]), ARGV[6]
local rsites, rcores = held_sites(lk), held_cores(lk)
local rhosts = set_of(hosts_of(lk, 'rhosts'))
for _, h in ipairs(hosts_of(lk, 'hosts')) do rhosts[h] = true end
for _, h in ipairs(cjson.decode(ARGV[4])) do rhosts[h] = nil end
for _, s in ipairs(sites) do rsites[s] = nil end
rcores[core] = nil
redis.call('HSET', lk, 'hosts', ARGV[4], 'sites', ARGV[5], 'core', core, 'updated_at', now,
  'rhosts', json_list(sorted_keys(rhosts)), 'rsites', table.concat(sorted_keys(rsites), ','),
  'rcores', table.concat(sorted_keys(rcores), ','))
redis.call('HINCRBY', lk, 'move', 1)
redis.call('ZADD', P .. 'moving', now, job)
history(job, now, ARGV[8], 'patch', 'reverted', ARGV[4])
return {'ok', fields(lk)}
