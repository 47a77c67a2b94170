#include "cluster/redis_cluster_scripts.hpp"

namespace relay::cluster::cluster_scripts {

// What each script does, and its keys and arguments: redis_cluster_scripts.hpp.

redis_script const& claim_script()
{
    static redis_script const s(R"lua(
local prev = redis.call('GET', KEYS[1])
local gen = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. gen .. ' ' .. ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return {gen, prev or ''}
)lua");
    return s;
}

redis_script const& release_script()
{
    static redis_script const s(R"lua(
local cur = redis.call('GET', KEYS[1])
local node, gen, token
if cur then node, gen, token = string.match(cur, '^(%S+) (%S+) (%S+)$') end
if node == ARGV[1] and token ~= ARGV[2] then return 0 end
redis.call('SREM', KEYS[2], ARGV[3])
if not cur then return 1 end
if node ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua");
    return s;
}

redis_script const& renew_script()
{
    static redis_script const s(R"lua(
local out = {}
for i, k in ipairs(KEYS) do
  local cur = redis.call('GET', k)
  if cur == ARGV[i + 1] then
    redis.call('PEXPIRE', k, ARGV[1])
    out[i] = 0
  elseif not cur then
    out[i] = 1
  else
    out[i] = 2
  end
end
return out
)lua");
    return s;
}

redis_script const& heartbeat_script()
{
    static redis_script const s(R"lua(
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])
return 1
)lua");
    return s;
}

redis_script const& reap_script()
{
    static redis_script const s(R"lua(
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local out = {}
for _, node in ipairs(dead) do
  if node ~= ARGV[2] then
    redis.call('ZREM', KEYS[1], node)
    local set = 'relay:node:' .. node .. ':robots'
    local gone = {}
    for _, d in ipairs(redis.call('SMEMBERS', set)) do
      local key = 'relay:{' .. d .. '}:owner'
      local cur = redis.call('GET', key)
      if not cur then
        gone[#gone + 1] = d
      elseif string.match(cur, '^(%S+)') == node then
        redis.call('DEL', key)
        gone[#gone + 1] = d
      end
    end
    redis.call('DEL', set)
    out[#out + 1] = node
    out[#out + 1] = #gone
    for _, d in ipairs(gone) do out[#out + 1] = d end
  end
end
return out
)lua");
    return s;
}

redis_script const& retire_script()
{
    static redis_script const s(R"lua(
local had = redis.call('ZSCORE', KEYS[1], ARGV[1])
local out = {had and 1 or 0}
local prefix = ARGV[2] .. '.'
for _, d in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = 'relay:{' .. d .. '}:owner'
  local cur = redis.call('GET', key)
  local node, gen, token
  if cur then node, gen, token = string.match(cur, '^(%S+) (%S+) (%S+)$') end
  if node ~= ARGV[1] then
    redis.call('SREM', KEYS[2], d)
  elseif ARGV[2] == '' or string.sub(token, 1, #prefix) ~= prefix then
    redis.call('DEL', key)
    redis.call('SREM', KEYS[2], d)
    out[#out + 1] = d
  end
end
if ARGV[2] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
return out
)lua");
    return s;
}

redis_script const& route_script()
{
    static redis_script const s(R"lua(
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local node = string.match(cur, '^(%S+)')
redis.call('PUBLISH', 'relay:node:' .. node, ARGV[1])
return node
)lua");
    return s;
}

} // namespace relay::cluster::cluster_scripts
