#pragma once
// Answers shared by the JSON API handlers (routes_auth.cpp, routes_devices.cpp) on top of
// api_common.hpp.
#include "api_common.hpp"
#include "http_util.hpp"

#include <relay/protocol/errc.hpp>

#include <boost/system/error_code.hpp>

namespace relay::server {

/**
 * The answer for a store failure that may be `expected`, an error the client is told as it is
 * (DEVICE_NOT_FOUND when the device went away since the role check, EMAIL_TAKEN, …): that error
 * with its standard message; any other failure as store_failure(ec) answers it.
 */
inline http_response store_failure(boost::system::error_code ec, errc expected)
{
    if (ec == make_error_code(expected))
        return error_response(expected);
    return store_failure(ec);
}

} // namespace relay::server
