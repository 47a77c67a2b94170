#include "cluster/hiredis_asio.hpp"

#include <hiredis/hiredis.h>

namespace relay::cluster {

redis_reply copy_reply(redisReply const& reply)
{
    redis_reply out;
    switch (reply.type) {
    case REDIS_REPLY_STATUS:
        out.type = redis_reply::kind::status;
        break;
    case REDIS_REPLY_ERROR:
        out.type = redis_reply::kind::error;
        break;
    case REDIS_REPLY_INTEGER:
        out.type = redis_reply::kind::integer;
        out.integer = reply.integer;
        return out;
    case REDIS_REPLY_STRING:
        out.type = redis_reply::kind::string;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = redis_reply::kind::array;
        out.elements.reserve(reply.elements);
        for (std::size_t i = 0; i < reply.elements; ++i)
            out.elements.push_back(copy_reply(*reply.element[i]));
        return out;
    default:
        return out; // nil
    }
    out.str.assign(reply.str, reply.len);
    return out;
}

} // namespace relay::cluster
