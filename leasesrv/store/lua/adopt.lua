-- adopt: a live lease granted before cores were part of the model had the
-- uplinks of all its sites configured; it reserves its VLAN on its core now.
-- Answers the job already holding the VLAN there, if any.
-- ARGV: prefix, core
local lk = KEYS[1]
if redis.call('HEXISTS', lk, 'core') == 1 then return {'ok'} end
local state = redis.call('HGET', lk, 'state')
if not live(state) then
  redis.call('HSET', lk, 'core', '')
  return {'ok'}
end
local job, vid, core = redis.call('HGET', lk, 'job'), redis.call('HGET', lk, 'vlan'), ARGV[2]
local other = redis.call('HGET', P .. 'cused:' .. core, vid)
redis.call('HSET', lk, 'core', core, 'move', 0)
if other and other ~= job then return {'conflict', other} end
core_take(core, vid, job)
return {'ok'}
