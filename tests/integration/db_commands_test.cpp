// relayd db status|migrate|copy on SQLite files (docs/api.md, "Administration"; docs/store.md):
// the schema before and after migrating, and a copied deployment on which an existing login and
// an existing robot keep working.
#include "integration/api_test_helpers.hpp"
#include "support/fixtures.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>

using namespace api_test;

namespace {

bool exists(std::string const& path)
{
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

bool contains(std::string const& text, std::string const& part)
{
    return text.find(part) != std::string::npos;
}

/** The first line of a file (a key kept beside a database). */
std::string first_line(std::string const& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

} // namespace

TEST_CASE("relayd db status and migrate: pending steps, then every step applied, and no key file made")
{
    file_database db;
    auto [st, status] = run_relayd({"db", "status"}, db.env);
    CAPTURE(status);
    CHECK(st == 1);
    CHECK(contains(status, "(sqlite)"));
    CHECK(contains(status, "schema version 0; this relayd knows version 5"));
    CHECK(contains(status, "schema_migrations table"));
    CHECK(contains(status, "5 steps pending: run relayd db migrate"));
    CHECK_FALSE(exists(db.path)); // status never creates the file

    auto [mst, migrated] = run_relayd({"db", "migrate"}, db.env);
    CAPTURE(migrated);
    CHECK(mst == 0);
    CHECK(contains(migrated, "applied 1 ("));
    CHECK(contains(migrated, "applied 2 (health check row)"));
    CHECK(contains(migrated, "applied 3 (schema_migrations table)"));
    CHECK(contains(migrated, "applied 4 (audit trail)"));
    CHECK(contains(migrated, "applied 5 (device keys)"));

    auto [ast, after] = run_relayd({"db", "status"}, db.env);
    CAPTURE(after);
    CHECK(ast == 0);
    CHECK(contains(after, "schema version 5; this relayd knows version 5"));
    CHECK_FALSE(contains(after, "pending"));
    CHECK(contains(after, "up to date"));

    auto again = run_relayd({"db", "migrate"}, db.env);
    CHECK(again.first == 0);
    CHECK(contains(again.second, "already at version 5"));
    // db commands never unseal a device secret: no key, no JWT secret beside the database.
    CHECK_FALSE(exists(db.path + ".key"));
    CHECK_FALSE(exists(db.path + ".jwt"));
}

TEST_CASE("relayd db: what it refuses")
{
    file_database db;
    auto memory = run_relayd({"db", "status"}, api_test::test_env());
    CHECK(memory.first == 1);
    CHECK(contains(memory.second, ":memory:"));
    CHECK(run_relayd({"db", "frobnicate"}, db.env).first == 2);
    CHECK(run_relayd({"db"}, db.env).first == 2);
    CHECK(run_relayd({"db", "status", "extra"}, db.env).first == 2);

    // A key without its database: the database was lost, and migrate does not make an empty one.
    std::ofstream(db.path + ".key") << std::string(64, 'a') << '\n';
    auto lost = run_relayd({"db", "migrate"}, db.env);
    CHECK(lost.first == 1);
    CHECK(contains(lost.second, "was lost"));
    CHECK_FALSE(exists(db.path));
}

TEST_CASE("relayd db copy: a login's refresh token and a robot's old secret work on the copy")
{
    file_database source;
    std::string access, refresh, secret;
    {
        relayd_process relayd(source.env);
        auto port = relayd.port();
        register_user(port, "ann@example.com");
        register_user(port, "bob@example.com");
        auto pair = login(port, "ann@example.com");
        access = std::string(pair.at("access_token").as_string());
        refresh = std::string(pair.at("refresh_token").as_string());
        secret = std::string(create_device(port, access, "wimz-001").at("device_secret").as_string());
        REQUIRE(http_json(port, "POST", "/api/devices/wimz-001/members",
                          json::object{{"email", "bob@example.com"}, {"role", "viewer"}}, access)
                    .status == 201);
        CHECK(relayd.stop(SIGTERM) == 0);
    }
    REQUIRE(exists(source.path + ".key"));

    auto const target = source.dir.path() + "/copy.db";
    auto [st, out] = run_relayd({"db", "copy", "--from", source.path, "--to", target}, source.env);
    CAPTURE(out);
    REQUIRE(st == 0);
    CHECK(contains(out, "2 users, 1 refresh tokens, 0 reset tokens, 1 devices, 2 memberships, 0 WebRTC sessions"));
    // Which file holds the key the copy needs, said exactly.
    CHECK(contains(out, "RELAY_SECRET_KEY to the content of " + source.path + ".key"));
    CHECK_FALSE(exists(target + ".key"));

    auto env = api_test::test_env({{"RELAY_DATABASE", target}, {"RELAY_SECRET_KEY", first_line(source.path + ".key")}});
    relayd_process relayd(env);
    auto port = relayd.port();
    auto refreshed = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", refresh}});
    CAPTURE(refreshed.body);
    CHECK(refreshed.status == 200);
    CHECK(relay::test::connect_robot(port, relay::test::device_credentials{"wimz-001", secret}));
    auto devices = http_get(port, "/api/devices", access);
    REQUIRE(devices.status == 200);
    CHECK(devices.json().as_array().size() == 1);
    // Password hashes came as they were: bob logs in, and is still a viewer.
    auto bob = std::string(login(port, "bob@example.com").at("access_token").as_string());
    CHECK(http_get(port, "/api/devices/wimz-001", bob).json().at("role") == "viewer");
}

TEST_CASE("relayd db copy: an occupied target needs --replace; a missing source is not created")
{
    file_database source, target;
    REQUIRE(run_relayd({"user", "add", "ann@example.com"}, source.env, good_password + "\n").first == 0);
    REQUIRE(run_relayd({"user", "add", "zed@example.com"}, target.env, good_password + "\n").first == 0);

    auto refused = run_relayd({"db", "copy", "--from", source.path, "--to", target.path}, source.env);
    CHECK(refused.first == 1);
    CHECK(contains(refused.second, "already holds accounts, devices or tokens; nothing was copied"));
    CHECK(contains(refused.second, "--replace"));
    auto users = run_relayd({"user", "list"}, target.env).second;
    CHECK(contains(users, "zed@example.com"));
    CHECK_FALSE(contains(users, "ann@example.com"));

    auto replaced = run_relayd({"db", "copy", "--from", source.path, "--to", target.path, "--replace"}, source.env);
    CHECK(replaced.first == 0);
    users = run_relayd({"user", "list"}, target.env).second;
    CHECK(contains(users, "ann@example.com"));
    CHECK_FALSE(contains(users, "zed@example.com"));

    auto const missing = source.dir.path() + "/missing.db";
    auto no_source = run_relayd({"db", "copy", "--from", missing, "--to", target.path + "2"}, source.env);
    CHECK(no_source.first == 1);
    CHECK(contains(no_source.second, "does not exist"));
    CHECK_FALSE(exists(missing));
    CHECK_FALSE(exists(target.path + "2"));

    CHECK(contains(run_relayd({"db", "copy", "--from", source.path, "--to", ":memory:"}, source.env).second,
                   ":memory:"));
    CHECK(run_relayd({"db", "copy", "--from", source.path}, source.env).first == 2);
    CHECK(run_relayd({"db", "copy", "--from", source.path, "--to", target.path, "--force"}, source.env).first == 2);

    // A URL's password never reaches a message, whatever fails.
    auto url = run_relayd({"db", "copy", "--from", source.path, "--to",
                           "postgresql://relay:hunter2@127.0.0.1:1/relay?password=hunter3&sslmode=disable"},
                          source.env);
    CHECK(url.first == 1);
    CHECK(contains(url.second, "postgresql://relay:***@127.0.0.1:1/relay?sslmode=disable"));
    CHECK_FALSE(contains(url.second, "hunter"));
}
