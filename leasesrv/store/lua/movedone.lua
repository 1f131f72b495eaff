-- movedone: a migration's device changes are complete; its residue is no
-- longer on any switch and goes through quarantine. A later migration of
-- the same lease (another move number) owns the residue now: nothing done.
-- ARGV: prefix, token, move, now, quarantine_ms, actor
local lk = KEYS[1]
local now = clock(ARGV[4])
local state = redis.call('HGET', lk, 'state')
if not state then return {'not_found'} end
if redis.call('HGET', lk, 'token') ~= ARGV[2] then return {'stale'} end
if redis.call('HGET', lk, 'move') ~= ARGV[3] then return {'moved', 'migrated again'} end
if not live(state) then return {'moved', state} end
local job = redis.call('HGET', lk, 'job')
clear_residue(lk, job, now, tonumber(ARGV[5]))
history(job, now, ARGV[6], 'move', state, 'switches match the lease; what it left is in quarantine')
return {'ok'}
