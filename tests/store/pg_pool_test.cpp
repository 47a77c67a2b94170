// The PostgreSQL store's connection pool: what callers see while the server is down and after it
// is back, and that no message shows a password.
#include "store/store_fixture.hpp"

#include "pg/postgres_server.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;
namespace pg = relay::test::pg;

namespace {

using clock_type = std::chrono::steady_clock;

/** How many times `needle` occurs in `text`. */
std::size_t count(std::string const& text, std::string const& needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

} // namespace

TEST_CASE("postgresql pool: down fails fast with unavailable, logs the outage once, recovers by itself")
{
    pg::postgres_server server;
    captured_log log;
    store_options options;
    options.log = log.get();
    options.pool_size = 2;
    auto opened = open_store(server.create_database(), options);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
    auto& s = **opened;
    auto alice = make_user(s, "alice@example.com");

    server.stop(pg::stop_mode::fast);

    // The first call finds its idle connection closed, cannot connect, and the pool is down; the
    // next ones fail at once (no connect timeout each) until the back-off ends.
    CHECK(s.find_user_by_id(alice.id).error() == errc::unavailable);
    auto const before = clock_type::now();
    for (int i = 0; i < 20; ++i)
        CHECK(s.find_user_by_id(alice.id).error() == errc::unavailable);
    CHECK(clock_type::now() - before < std::chrono::seconds(1));
    auto health = s.check();
    REQUIRE(!health);
    CHECK(health.error().code == errc::unavailable);
    CHECK(health.error().message.find("PostgreSQL at postgresql://") != std::string::npos);
    CHECK(health.error().message.find(server.password()) == std::string::npos);
    CHECK(count(log.text(), "store.postgresql_down") == 1);

    server.start();
    // Back within the longest back-off (5 s) plus a connect, without reopening the store.
    auto const deadline = clock_type::now() + std::chrono::seconds(15);
    result<user> found = errc::unavailable;
    while (!(found = s.find_user_by_id(alice.id)) && clock_type::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(found);
    CHECK(found->email == "alice@example.com");
    CHECK(s.check());
    CHECK(count(log.text(), "store.postgresql_up") == 1);
    CHECK(log.text().find(server.password()) == std::string::npos);
}

TEST_CASE("postgresql: a URL libpq cannot parse is refused without quoting its password")
{
    // Nothing listens on port 1, and libpq stops at the bad percent-encoding before connecting.
    for (std::string url : {"postgresql://relay:ab%zzhunter2@127.0.0.1:1/relay",
                            "postgresql://relay@127.0.0.1:1/relay?password=hunter2%zz",
                            "postgresql://relay:hunter2@127.0.0.1:1/relay?sslmode=bogus"}) {
        CAPTURE(url);
        auto opened = open_store(url);
        REQUIRE(!opened);
        CHECK(opened.error().code == errc::unavailable);
        CHECK(opened.error().message.find("hunter2") == std::string::npos);
        CHECK(!opened.error().message.empty());
    }
}

TEST_CASE("postgresql: a statement past the statement timeout fails with unavailable, and the store goes on")
{
    captured_log log;
    store_options options;
    options.log = log.get();
    options.statement_timeout = std::chrono::milliseconds(300);
    auto const url = pg::shared_server().create_database();
    auto opened = open_store(url, options);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
    auto& s = **opened;
    auto alice = make_user(s, "alice@example.com");

    // Another session holds alice's row, as a stuck transaction would.
    std::unique_ptr<PGconn, decltype(&PQfinish)> holder(PQconnectdb(url.c_str()), &PQfinish);
    REQUIRE(PQstatus(holder.get()) == CONNECTION_OK);
    auto exec = [&](char const* sql) {
        std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(holder.get(), sql), &PQclear);
        return PQresultStatus(r.get());
    };
    REQUIRE(exec("BEGIN") == PGRES_COMMAND_OK);
    REQUIRE(exec("SELECT 1 FROM users FOR UPDATE") == PGRES_TUPLES_OK);

    // Revoking alice's tokens locks her row: it waits, is cancelled by the server, and says so.
    CHECK(s.revoke_all_refresh_tokens(alice.id).error() == errc::unavailable);
    CHECK(log.text().find("sqlstate=57014") != std::string::npos);

    REQUIRE(exec("COMMIT") == PGRES_COMMAND_OK);
    CHECK(s.revoke_all_refresh_tokens(alice.id));
    CHECK(s.find_user_by_id(alice.id));
}
