#include "support/barrier.hpp"

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

#include <chrono>

namespace relay::test {
namespace {

// Generous: how long a pong may take on a loaded machine. Waiting is only ever this long when
// the test is failing anyway.
constexpr auto pong_limit = std::chrono::seconds(20);

bool is_type(boost::json::value const& m, std::string const& type)
{
    auto const* o = m.if_object();
    auto const* t = o ? o->if_contains("type") : nullptr;
    return t && t->is_string() && t->as_string() == type;
}

} // namespace

void round_trip(ws_client& peer)
{
    peer.send(boost::json::object{{"type", "ping"}});
    REQUIRE_MESSAGE(!peer.expect("pong", pong_limit).is_null(), "no pong: the connection is gone");
}

std::vector<boost::json::value> messages_before_pong(ws_client& client)
{
    client.send(boost::json::object{{"type", "ping"}});
    std::vector<boost::json::value> before;
    for (;;) {
        auto m = client.read_json(pong_limit);
        REQUIRE_MESSAGE(m, "no pong: the connection is gone");
        if (is_type(*m, "pong"))
            return before;
        before.push_back(std::move(*m));
    }
}

void expect_nothing_before_pong(ws_client& client, std::string const& type)
{
    for (auto const& m : messages_before_pong(client))
        if (type.empty() || is_type(m, type))
            FAIL_CHECK("arrived although nothing should have: " << boost::json::serialize(m));
}

} // namespace relay::test
