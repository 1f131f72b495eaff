-- purge: forget ended leases whose history retention is over.
-- ARGV: prefix, now, limit
local now = clock(ARGV[2])
local jobs = redis.call('ZRANGEBYSCORE', P .. 'purge', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, job in ipairs(jobs) do
  local state = redis.call('HGET', lease_key(job), 'state')
  if not live(state) then
    redis.call('DEL', lease_key(job), P .. 'hist:' .. job)
    redis.call('SREM', P .. 'jobs', job)
  end
  redis.call('ZREM', P .. 'purge', job)
end
return #jobs
