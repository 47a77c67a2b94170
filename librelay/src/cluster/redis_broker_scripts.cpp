#include "cluster/redis_broker_scripts.hpp"

namespace relay::cluster::broker_scripts {

char const publish[] = R"lua(-- seqs are microseconds since 1970 plus a count: far below 2^53, so exact in Lua's numbers;
-- '%.0f' writes them whole (tostring would write 1.7e+15).
local function whole(n) return string.format('%.0f', n) end
local id, max_events, max_age = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local seq, epoch
if redis.call('EXISTS', KEYS[1]) == 1 then
  if id ~= '' then
    local kept = redis.call('ZSCORE', KEYS[3], id)
    if kept then
      -- A re-sent event while its first copy is kept (count bound: the ids are trimmed with the
      -- stream; age bound: checked here, as history does).
      local e = redis.call('XRANGE', KEYS[2], kept .. '-0', kept .. '-0')
      if e[1] and now_ms - tonumber(e[1][2][4]) <= max_age then return {kept, 1} end
      redis.call('ZREM', KEYS[3], id)
    end
  end
  seq = redis.call('HINCRBY', KEYS[1], 's', 1)
  epoch = tonumber(redis.call('HGET', KEYS[1], 'e'))
else
  -- A new epoch (a new device, or Redis lost this one's numbering): start at Redis's clock so
  -- that seqs keep increasing across the loss, and forget whatever else of it is left.
  redis.call('DEL', KEYS[2], KEYS[3])
  epoch = tonumber(time[1]) * 1000000 + tonumber(time[2])
  seq = epoch
  redis.call('HSET', KEYS[1], 's', whole(seq), 'e', whole(epoch))
end
local s = whole(seq)
local frame = ARGV[1] .. s .. ARGV[2]
if max_events > 0 then
  if id ~= '' then
    redis.call('XADD', KEYS[2], 'MAXLEN', max_events, s .. '-0', 'f', frame, 't', now_ms, 'i', id)
    redis.call('ZADD', KEYS[3], s, id)
  else
    redis.call('XADD', KEYS[2], 'MAXLEN', max_events, s .. '-0', 'f', frame, 't', now_ms)
  end
  -- The stream holds consecutive seqs up to this one: the ids of trimmed events go with them.
  local oldest = seq - max_events + 1
  if oldest > epoch then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. whole(oldest)) end
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[7], s .. ' ' .. frame)
return {s, 0, whole(epoch)}
)lua";

char const history[] = R"lua(local meta = redis.call('HMGET', KEYS[1], 's', 'e')
if not meta[1] then return {'0', '0', {}} end
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local from, count, max_age = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
while true do
  local entries = redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', count)
  for _, e in ipairs(entries) do
    -- Older than the age bound: gone, as if trimmed (they are the oldest, seqs follow time).
    if now_ms - tonumber(e[2][4]) <= max_age then
      out[#out + 1] = e[1]
      out[#out + 1] = e[2][2]
    end
  end
  if #out > 0 or #entries < count then break end
  from = '(' .. entries[#entries][1]
end
return {meta[1], meta[2], out}
)lua";

} // namespace relay::cluster::broker_scripts
