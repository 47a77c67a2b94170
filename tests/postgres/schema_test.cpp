// Schema migrations on PostgreSQL as relayd meets them: several relayd starting at once on an
// empty database apply each step once (an advisory lock), and a database with a newer schema than
// this relay knows is refused with one clear line, untouched (docs/store.md, "Migrations").
#include "postgres/relay_on_postgres.hpp"

#include <exception>
#include <memory>
#include <optional>
#include <vector>

using namespace pg_test;

namespace {

/** What a test compares to prove a database untouched: its tables, the migrations recorded and
 * the rows of every table, as text. */
std::string database_state(pg::postgres_server const& server, std::string const& db)
{
    std::string state;
    auto tables = server.admin_sql(db, "SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema = 'public' ORDER BY table_name");
    for (auto const& row : tables) {
        auto const& table = row.at(0);
        state += table + ":";
        for (auto const& r : server.admin_sql(db, "SELECT t::text FROM " + table + " t ORDER BY 1"))
            state += " " + r.at(0);
        state += "\n";
    }
    return state;
}

} // namespace

TEST_CASE("two relayd starting at once on one empty database both come up and apply each migration once")
{
    auto& server = pg::shared_server();
    auto const url = server.create_database();
    auto const db = database_name(url);

    // Both constructors run at once: each returns once its relayd listens.
    std::optional<relayd_process> first, second;
    std::exception_ptr first_failed, second_failed;
    {
        std::jthread a([&] {
            try {
                first.emplace(relay_env(url));
            } catch (...) {
                first_failed = std::current_exception();
            }
        });
        std::jthread b([&] {
            try {
                second.emplace(relay_env(url));
            } catch (...) {
                second_failed = std::current_exception();
            }
        });
    }
    auto failure = [](std::exception_ptr const& e) -> std::string {
        try {
            if (e)
                std::rethrow_exception(e);
        } catch (std::exception const& x) {
            return x.what();
        }
        return {};
    };
    CHECK_MESSAGE(!first_failed, failure(first_failed));
    CHECK_MESSAGE(!second_failed, failure(second_failed));
    REQUIRE(first);
    REQUIRE(second);

    CHECK(server.admin_sql(db, "SELECT version FROM schema_migrations GROUP BY version HAVING count(*) > 1").empty());
    auto const versions = server.admin_value(db, "SELECT count(*) FROM schema_migrations");
    CHECK(versions == server.admin_value(db, "SELECT count(DISTINCT version) FROM schema_migrations"));
    CHECK(versions != "0");

    // Both serve: an account made through one logs in through the other.
    auto account = make_account(first->port(), "race");
    CHECK(login(second->port(), account.email).status == 200);

    check_password_not_in(first->output(), server);
    check_password_not_in(second->output(), server);
}

TEST_CASE("relayd refuses a database whose schema is newer than it knows, in one line, and leaves it untouched")
{
    auto& server = pg::shared_server();
    auto const url = server.create_database();
    auto const db = database_name(url);
    {
        relayd_process relayd(relay_env(url));
        make_account(relayd.port(), "newer");
        check_password_not_in(relayd.output(), server);
    }
    server.admin_sql(db, "INSERT INTO schema_migrations (version, name, applied_at) "
                         "VALUES (999, 'from a newer relay', 2000000000)");
    auto const before = database_state(server, db);

    auto [status, output] = run_relayd({}, relay_env(url));
    CAPTURE(output);
    CHECK(status != 0);
    // One line says it, naming the version it found.
    std::size_t lines_with_version = 0;
    for (std::size_t at = 0; (at = output.find("999", at)) != std::string::npos; at = output.find('\n', at))
        ++lines_with_version;
    CHECK(lines_with_version == 1);
    CHECK(output.find("listening") == std::string::npos);
    CHECK(database_state(server, db) == before);
    check_password_not_in(output, server);
}
