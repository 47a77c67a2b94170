// The framing of node messages: kind, sender and body come back exactly, whatever the body holds.
#include "cluster/redis_cluster.hpp"

#include <doctest/doctest.h>

using relay::cluster::frame_node_message;
using relay::cluster::parse_node_message;

TEST_CASE("node messages: kind, sender and body survive any body")
{
    for (std::string body : {std::string(), std::string("plain"), std::string("two\nlines and spaces"),
                             std::string("nul\0inside", 10), std::string("\n")}) {
        auto framed = frame_node_message("command", "node-1:8000", body);
        auto m = parse_node_message(framed);
        REQUIRE(m);
        CHECK(m->kind == "command");
        CHECK(m->from == "node-1:8000");
        CHECK(m->body == body);
    }
}

TEST_CASE("node messages: the client's probe and malformed payloads are not messages")
{
    CHECK_FALSE(parse_node_message(std::string("\0probe 1\nx", 10)));
    CHECK_FALSE(parse_node_message(""));
    CHECK_FALSE(parse_node_message("no newline"));
    CHECK_FALSE(parse_node_message("nospace\nbody"));
    CHECK_FALSE(parse_node_message(" from\nbody"));
    CHECK_FALSE(parse_node_message("kind \nbody"));
}
