#pragma once
// hiredis 0.14 on Asio: what the relay needs of hiredis beyond its own API.
#include "cluster/redis_client.hpp"

struct redisReply;

namespace relay::cluster {

/** A copy of a hiredis reply (hiredis frees its own after the callback returns). */
redis_reply copy_reply(redisReply const& reply);

} // namespace relay::cluster
