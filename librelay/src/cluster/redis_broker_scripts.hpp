#pragma once
// The Lua scripts of the Redis broker (redis_broker.cpp). Each runs atomically in Redis, so a
// device's seq, its history and the ids of its kept events change together, whichever node
// publishes.
//
// Keys of device <d> (the hash tag keeps them in one slot should Redis Cluster shard by device):
//   relay:{<d>}:meta  HASH   s = last seq, e = epoch (the first seq of the current numbering)
//   relay:{<d>}:hist  STREAM entry <seq>-0: f = the complete frame, t = ms (Redis TIME), i = event id
//   relay:{<d>}:ids   ZSET   member = event id, score = seq: the ids of the kept events
// and the channel relay:{<d>}:ev, whose messages are "<seq> <frame>" (seq 0: transient, not kept).

namespace relay::cluster::broker_scripts {

/**
 * KEYS meta, hist, ids; ARGV prefix, suffix, event id ('' = none), max events, max age (ms), key
 * lifetime (ms), channel. Answers {seq, 0, epoch} for a new event, {kept seq, 1} for a re-sent id.
 */
extern char const publish[];

/**
 * KEYS meta, hist; ARGV first stream id to read ('-' = the oldest), page size, max age (ms).
 * Answers {last seq, epoch, {stream id, frame, …}} with the kept entries from there that are
 * within the age bound (at least one when any is); {'0', '0', {}} when the device has no numbering.
 */
extern char const history[];

} // namespace relay::cluster::broker_scripts
