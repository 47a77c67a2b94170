// Who a request comes from: the TCP peer, unless that peer is a trusted proxy naming someone.
#include "server/http/client_address.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace relay::server;

namespace {

http::fields forwarded_for(std::string const& list)
{
    http::fields f;
    f.set("X-Forwarded-For", list);
    return f;
}

std::vector<std::string> const proxies{"10.0.0.1", "10.0.0.2"};

} // namespace

TEST_CASE("client_address: without a trusted peer the header is ignored")
{
    CHECK(client_address({}, "198.51.100.7", forwarded_for("203.0.113.9")) == "198.51.100.7");
    CHECK(client_address(proxies, "198.51.100.7", forwarded_for("203.0.113.9")) == "198.51.100.7");
    CHECK(client_address(proxies, "10.0.0.1", http::fields{}) == "10.0.0.1");
}

TEST_CASE("client_address: the rightmost entry that is not a trusted proxy")
{
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("203.0.113.9")) == "203.0.113.9");
    // The client may prepend anything; only what trusted proxies appended counts.
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("192.0.2.66, 203.0.113.9")) == "203.0.113.9");
    // A chain of trusted proxies is walked through.
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("203.0.113.9, 10.0.0.2")) == "203.0.113.9");
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("203.0.113.9,10.0.0.2,10.0.0.1")) == "203.0.113.9");
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("2001:db8::5")) == "2001:db8::5");
}

TEST_CASE("client_address: malformed entries and all-proxy chains fall back to the peer")
{
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("not-an-address")) == "10.0.0.1");
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("203.0.113.9, garbage")) == "10.0.0.1");
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("10.0.0.2, 10.0.0.1")) == "10.0.0.1");
    CHECK(client_address(proxies, "10.0.0.1", forwarded_for("")) == "10.0.0.1");
}
