-- journal: write a lease's journal, as a script so that with wait_replicas
-- the WAIT rides on the same connection as the write (see Store.run).
-- ARGV: prefix, op (begin | step | end), job, field, value
local jk, op, job = KEYS[1], ARGV[2], ARGV[3]
if op == 'begin' then
  redis.call('DEL', jk)
  redis.call('HSET', jk, 'intent', ARGV[4])
  redis.call('SADD', P .. 'journals', job)
elseif op == 'step' then
  redis.call('HSET', jk, 'step:' .. ARGV[4], ARGV[5])
else
  redis.call('DEL', jk)
  redis.call('SREM', P .. 'journals', job)
end
return {'ok'}
