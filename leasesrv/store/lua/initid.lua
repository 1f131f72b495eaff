-- initid: give the store its identity at first initialisation (or on the
-- first start of a version that has identities); keep an existing one.
-- ARGV: prefix, new identity. Returns the identity, the fencing counter,
-- and '1' when this call wrote the identity, '0' when it was there.
local new = redis.call('SET', P .. 'id', ARGV[2], 'NX')
return {redis.call('GET', P .. 'id'), tostring(tonumber(redis.call('GET', P .. 'fence') or '0')), new and '1' or '0'}
