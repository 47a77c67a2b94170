#include "support/webrtc_checks.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

namespace relay::test {

void expect_relay_close(ws_client& ws, std::string const& session_id, std::string const& reason,
                        std::chrono::milliseconds timeout)
{
    auto closed = ws.expect("webrtc_close", timeout);
    CAPTURE(boost::json::serialize(closed));
    REQUIRE(closed.is_object());
    CHECK(closed.at("session_id") == session_id.c_str());
    CHECK(closed.at("by") == "relay");
    CHECK(closed.at("reason") == reason.c_str());
}

} // namespace relay::test
