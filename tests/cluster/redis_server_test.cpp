// The redis-server harness itself (tests/redis/): what the cluster tests build on.
#include "redis/redis_server.hpp"

#include <doctest/doctest.h>

#include <stdexcept>

namespace {

using relay::test::redis::redis_server;
using relay::test::redis::reply;
using relay::test::redis::server_options;

} // namespace

TEST_CASE("redis harness: a private server answers, restarts on its port, pauses and stops")
{
    redis_server server;
    CHECK(server.running());
    CHECK(server.url() == "redis://127.0.0.1:" + std::to_string(server.port()));
    CHECK(server.url(3) == "redis://127.0.0.1:" + std::to_string(server.port()) + "/3");
    CHECK(server.command({"SET", "k", std::string("v\0w", 3)}).str == "OK");
    CHECK(server.command({"GET", "k"}).str == std::string("v\0w", 3));
    CHECK(server.command({"DBSIZE"}).integer == 1);
    CHECK(server.command({"DBSIZE"}, 5).integer == 0);
    CHECK(server.command({"NOSUCHCOMMAND"}).is_error());

    auto const port = server.port();
    server.kill();
    CHECK_FALSE(server.running());
    CHECK_THROWS_AS(server.command({"PING"}), std::runtime_error);
    server.start();
    CHECK(server.port() == port);
    CHECK(server.command({"DBSIZE"}).integer == 0); // no persistence

    server.stop();
    CHECK_FALSE(server.running());
    server.start();
    server.pause();
    CHECK_THROWS_AS(server.command({"PING"}), std::runtime_error); // the 5 s read limit
    server.resume();
    CHECK(server.command({"PING"}).str == "PONG");
}

TEST_CASE("redis harness: a password is required and in the URL")
{
    server_options options;
    options.password = "s3cret";
    redis_server server(options);
    CHECK(server.url(1) == "redis://:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/1");
    CHECK(server.command({"PING"}).str == "PONG");
    CHECK(server.command({"CONFIG", "GET", "requirepass"}).elements.at(1).str == "s3cret");
}

TEST_CASE("redis harness: the shared server answers")
{
    auto& shared = relay::test::redis::shared_redis();
    CHECK(shared.command({"PING"}).str == "PONG");
    CHECK(&shared == &relay::test::redis::shared_redis());
}
