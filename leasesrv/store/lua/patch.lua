-- patch: change a live lease's hosts (migration). A new site must have the
-- lease's VLAN free. ARGV: prefix, token, hosts(json), sites(csv), now, actor, net(0|1)
local lk = KEYS[1]
local now = clock(ARGV[5])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if state ~= 'held' and state ~= 'active' then return {state} end
local job, vid = redis.call('HGET', lk, 'job'), redis.call('HGET', lk, 'vlan')
local old = {}
for _, s in ipairs(split(redis.call('HGET', lk, 'sites'))) do old[s] = true end
local new = split(ARGV[4])
for _, site in ipairs(new) do
  if not old[site] then
    unquarantine(site, now)
    if not redis.call('ZSCORE', P .. 'free:' .. site, vid) then return {'exhausted', site} end
  end
end
for _, site in ipairs(new) do
  if not old[site] then
    redis.call('ZREM', P .. 'free:' .. site, vid)
    redis.call('HSET', P .. 'used:' .. site, vid, job)
  end
  old[site] = nil
end
for site, _ in pairs(old) do
  if redis.call('HGET', P .. 'used:' .. site, vid) == job then
    redis.call('HDEL', P .. 'used:' .. site, vid)
    redis.call('ZADD', P .. 'quar:' .. site, now, vid)
  end
end
redis.call('HSET', lk, 'hosts', ARGV[3], 'sites', ARGV[4], 'updated_at', now, 'net', ARGV[7])
history(job, now, ARGV[6], 'patch', state, ARGV[3])
return {'ok'}
