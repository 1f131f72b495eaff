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

local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end
  return out
end

local function lease_key(job) return P .. 'lease:' .. job end

local function history(job, now, actor, action, result, detail)
  redis.call('RPUSH', P .. 'hist:' .. job, cjson.encode({at = now, actor = actor, action = action, result = result, detail = detail}))
end

-- Quarantined VLANs whose time has come go back to the free set, if the
-- site still lends them and nobody holds them.
local function unquarantine(site, now)
  local q = P .. 'quar:' .. site
  local due = redis.call('ZRANGEBYSCORE', q, '-inf', now)
  for _, vid in ipairs(due) do
    redis.call('ZREM', q, vid)
    if redis.call('SISMEMBER', P .. 'pool:' .. site, vid) == 1 and redis.call('HEXISTS', P .. 'used:' .. site, vid) == 0 then
      redis.call('ZADD', P .. 'free:' .. site, tonumber(vid), vid)
    end
  end
end

-- The lease's VLAN leaves every site's used set and waits in quarantine.
local function give_back(lk, now, quarantine_ms)
  local job = redis.call('HGET', lk, 'job')
  local vid = redis.call('HGET', lk, 'vlan')
  for _, site in ipairs(split(redis.call('HGET', lk, 'sites'))) do
    if redis.call('HGET', P .. 'used:' .. site, vid) == job then
      redis.call('HDEL', P .. 'used:' .. site, vid)
      redis.call('ZADD', P .. 'quar:' .. site, now + quarantine_ms, vid)
    end
  end
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
