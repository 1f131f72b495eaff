-- Shared helpers, prepended to every script. All keys of the lease server
-- share the hash tag in the prefix, so every script's keys fall in one slot.
local P = ARGV[1]

local function clock(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function live(state)
  return state == 'held' or state == 'committing' or state == 'active' or state == 'releasing'
end

-- A list argument is always a script's last: its elements are ARGV[i] to
-- the end, one entry each (store/protocol.go).
local function rest(i)
  local out = {}
  for j = i, #ARGV do out[#out + 1] = ARGV[j] end
  return out
end

-- The lease hash keeps its sites, residue sites and residue cores as
-- comma-separated text; split reads it back.
local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end
  return out
end

local function lease_key(job) return P .. 'lease:' .. job end

local function history(job, now, actor, action, result, detail)
  redis.call('RPUSH', P .. 'hist:' .. job, cjson.encode({at = now, actor = actor, action = action, result = result, detail = detail}))
end

-- A site and an L2 core are allocated alike, each under its own keys: its
-- pool, its free VLANs, VLAN -> job using it, its quarantine. A core's pool
-- is the union of its sites' pools: a VLAN on a core's uplinks is one L2
-- network for every site on that core.
local function keys(kind, name)
  local c = kind == 'core' and 'c' or ''
  return {pool = P .. c .. 'pool:' .. name, free = P .. c .. 'free:' .. name,
    used = P .. c .. 'used:' .. name, quar = P .. c .. 'quar:' .. name}
end

-- Quarantined VLANs whose time has come go back to the free set, if the
-- pool still lends them and nobody holds them.
local function release_due(k, now)
  for _, vid in ipairs(redis.call('ZRANGEBYSCORE', k.quar, '-inf', now)) do
    redis.call('ZREM', k.quar, vid)
    if redis.call('SISMEMBER', k.pool, vid) == 1 and redis.call('HEXISTS', k.used, vid) == 0 then
      redis.call('ZADD', k.free, tonumber(vid), vid)
    end
  end
end

local function unquarantine(site, now) release_due(keys('site', site), now) end
local function unquarantine_core(core, now) release_due(keys('core', core), now) end

local function core_free(core, vid)
  return redis.call('ZSCORE', P .. 'cfree:' .. core, vid) ~= false
end

local function core_take(core, vid, job)
  redis.call('ZREM', P .. 'cfree:' .. core, vid)
  redis.call('HSET', P .. 'cused:' .. core, vid, job)
end

-- Sets of names as Lua tables, for the reach arithmetic of migrations.
local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function sorted_keys(s)
  local out = {}
  for k in pairs(s) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- cjson writes an empty table as an object; host lists stay arrays.
local function json_list(t)
  if #t == 0 then return '[]' end
  return cjson.encode(t)
end

local function hosts_of(lk, field)
  local raw = redis.call('HGET', lk, field)
  if not raw or raw == '' then return {} end
  return cjson.decode(raw)
end

-- What the switches may carry for a lease: its reach and a migration's residue.
local function held_sites(lk)
  local s = set_of(split(redis.call('HGET', lk, 'sites') or ''))
  for _, v in ipairs(split(redis.call('HGET', lk, 'rsites') or '')) do s[v] = true end
  return s
end

local function held_cores(lk)
  local s = set_of(split(redis.call('HGET', lk, 'rcores') or ''))
  local core = redis.call('HGET', lk, 'core')
  if core and core ~= '' then s[core] = true end
  return s
end

-- The VLAN leaves these sites and cores and waits in quarantine there.
local function give_back_at(job, vid, sites, cores, now, quarantine_ms)
  for _, site in ipairs(sites) do
    if redis.call('HGET', P .. 'used:' .. site, vid) == job then
      redis.call('HDEL', P .. 'used:' .. site, vid)
      redis.call('ZADD', P .. 'quar:' .. site, now + quarantine_ms, vid)
    end
  end
  for _, core in ipairs(cores) do
    if redis.call('HGET', P .. 'cused:' .. core, vid) == job then
      redis.call('HDEL', P .. 'cused:' .. core, vid)
      redis.call('ZADD', P .. 'cquar:' .. core, now + quarantine_ms, vid)
    end
  end
end

-- A migration's residue is gone from the switches: its places are free to
-- go through quarantine.
local function clear_residue(lk, job, now, quarantine_ms)
  local vid = redis.call('HGET', lk, 'vlan')
  local keep_sites = set_of(split(redis.call('HGET', lk, 'sites') or ''))
  local keep_core = redis.call('HGET', lk, 'core') or ''
  local sites, cores = {}, {}
  for _, s in ipairs(split(redis.call('HGET', lk, 'rsites') or '')) do
    if not keep_sites[s] then sites[#sites + 1] = s end
  end
  for _, c in ipairs(split(redis.call('HGET', lk, 'rcores') or '')) do
    if c ~= keep_core then cores[#cores + 1] = c end
  end
  give_back_at(job, vid, sites, cores, now, quarantine_ms)
  redis.call('HDEL', lk, 'rhosts', 'rsites', 'rcores')
  redis.call('ZREM', P .. 'moving', job)
end

-- The lease's VLAN leaves every site and core it holds and waits in quarantine.
local function give_back(lk, now, quarantine_ms)
  local job = redis.call('HGET', lk, 'job')
  local vid = redis.call('HGET', lk, 'vlan')
  give_back_at(job, vid, sorted_keys(held_sites(lk)), sorted_keys(held_cores(lk)), now, quarantine_ms)
  redis.call('HDEL', lk, 'rhosts', 'rsites', 'rcores')
  redis.call('ZREM', P .. 'moving', job)
end

local function finish(lk, job, now, state, reason, quarantine_ms, retention_ms)
  give_back(lk, now, quarantine_ms)
  redis.call('HSET', lk, 'state', state, 'reason', reason, 'updated_at', now)
  redis.call('ZREM', P .. 'due', job)
  redis.call('ZADD', P .. 'purge', now + retention_ms, job)
end

-- The lease hash as a flat list, returned by every script that changes it
-- so the caller needs no second round trip.
local function fields(lk) return redis.call('HGETALL', lk) end
