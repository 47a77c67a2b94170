// relayd db copy from a SQLite deployment to PostgreSQL, the move the issue asks for: after it,
// an existing login's refresh token still works and a robot authenticates with its old secret
// (docs/store.md, "Copying a deployment"). Also db status on PostgreSQL.
#include "postgres/relay_on_postgres.hpp"

#include <csignal>
#include <fstream>

using namespace pg_test;

namespace {

bool contains(std::string const& text, std::string const& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("relayd db copy SQLite → PostgreSQL: a login and a robot keep working on PostgreSQL")
{
    auto& server = pg::shared_server();
    temp_dir dir;
    auto const sqlite = dir.path() + "/relay.db";
    // The SQLite relay generates its device-secret key beside the database, as a default install does.
    env_map const sqlite_env{{"RELAY_DATABASE", sqlite}, {"RELAY_SCRYPT_LN", "10"},
                             {"RELAY_JWT_SECRET", "postgres-tests-jwt-secret-0123456789abcdef"}};
    account owner, viewer;
    device_credentials robot;
    {
        relayd_process relayd(sqlite_env);
        owner = make_account(relayd.port(), "owner");
        viewer = make_account(relayd.port(), "viewer");
        robot = make_device(relayd.port(), owner, "wimz-001");
        share_device(relayd.port(), owner, "wimz-001", viewer, "viewer");
        CHECK(connect_robot(relayd.port(), robot)); // last_seen set: a row changed after creation
        CHECK(relayd.stop(SIGTERM) == 0);
    }
    std::string key;
    std::getline(std::ifstream(sqlite + ".key"), key);
    REQUIRE(key.size() == 64);

    auto const url = server.create_database();
    auto [st, out] = run_relayd({"db", "copy", "--from", sqlite, "--to", url}, sqlite_env);
    CAPTURE(out);
    REQUIRE(st == 0);
    CHECK(contains(out, "2 users, 2 refresh tokens, 0 reset tokens, 1 devices, 2 memberships"));
    CHECK(contains(out, "RELAY_SECRET_KEY to the content of " + sqlite + ".key"));
    check_password_not_in(out, server);

    // Copying again is refused: the target is no longer empty.
    auto again = run_relayd({"db", "copy", "--from", sqlite, "--to", url}, sqlite_env);
    CHECK(again.first == 1);
    CHECK(contains(again.second, "already holds accounts, devices or tokens"));
    check_password_not_in(again.second, server);

    // db commands never unseal a secret: no RELAY_SECRET_KEY needed, even on PostgreSQL.
    auto status = run_relayd({"db", "status"}, env_map{{"RELAY_DATABASE", url}});
    CAPTURE(status.second);
    CHECK(status.first == 0);
    CHECK(contains(status.second, "(postgresql)"));
    CHECK(contains(status.second, "up to date"));
    check_password_not_in(status.second, server);

    relayd_process relayd(relay_env(url, {{"RELAY_SECRET_KEY", key}}));
    auto const port = relayd.port();
    auto refreshed = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", owner.refresh_token}});
    CAPTURE(refreshed.body);
    CHECK(refreshed.status == 200);
    CHECK(connect_robot(port, robot));
    auto role = http_get(port, "/api/devices/wimz-001", viewer.access_token);
    REQUIRE(role.status == 200);
    CHECK(role.json().at("role") == "viewer");
    CHECK(login(port, viewer.email).status == 200); // the password hash came as it was
    check_password_not_in(relayd.output(), server);
}
