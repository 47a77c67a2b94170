#pragma once
// Shared by the tests of relayd on PostgreSQL: a relay's environment for a database URL, polling
// an endpoint until it answers as expected (bounded), and the check that the database password
// never reaches relayd's output.
#include "pg/postgres_server.hpp"
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

namespace pg_test {

using namespace relay::test;
namespace json = boost::json;
namespace pg = relay::test::pg;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/** The password make_account registers with (tests/support/fixtures.cpp). */
inline std::string const account_password = "correct horse battery";

/** A relay on database `url`: fast password hashing, known JWT and device-secret keys (a relay on
 * PostgreSQL needs RELAY_SECRET_KEY), plus `extra`. */
inline env_map relay_env(std::string const& url, env_map extra = {})
{
    extra.try_emplace("RELAY_DATABASE", url);
    extra.try_emplace("RELAY_SECRET_KEY", "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7");
    extra.try_emplace("RELAY_JWT_SECRET", "postgres-tests-jwt-secret-0123456789abcdef");
    extra.try_emplace("RELAY_SCRYPT_LN", "10");
    return extra;
}

/** The database's name: the last part of a URL from postgres_server::create_database. */
inline std::string database_name(std::string const& url)
{
    return url.substr(url.rfind('/') + 1);
}

/** Calls `request` until `wanted` holds of its reply or `limit` passes; the last reply. */
template <class Request, class Wanted>
http_reply poll_until(Request request, Wanted wanted, std::chrono::seconds limit)
{
    auto const deadline = clock_type::now() + limit;
    for (;;) {
        auto reply = request();
        if (wanted(reply) || clock_type::now() >= deadline)
            return reply;
        std::this_thread::sleep_for(100ms);
    }
}

/** The login answer for a make_account account. */
inline http_reply login(std::uint16_t port, std::string const& email)
{
    return http_json(port, "POST", "/api/auth/login", json::object{{"email", email}, {"password", account_password}});
}

/** Checks that relayd's whole output so far lacks the database password. */
inline void check_password_not_in(std::string const& output, pg::postgres_server const& server)
{
    CHECK_MESSAGE(output.find(server.password()) == std::string::npos,
                  "the database password reached relayd's output:\n" << output);
}

} // namespace pg_test
