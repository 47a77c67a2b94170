// SQLite schema migrations: status read without changing anything, the step from version 2 (the
// last schema without schema_migrations), refusal of a newer schema, and migrate = false.
#include "store/store_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sqlite3.h>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

constexpr std::streamoff header_user_version = 60;
constexpr std::int64_t known_version = 4;

/** Runs SQL on a file (created when missing) with a connection of its own, as another program would. */
void exec_sql(std::string const& path, std::string const& sql)
{
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    std::string const why = message ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    REQUIRE_MESSAGE(rc == SQLITE_OK, why);
}

/** The rows of schema_migrations as "version name applied_at|null". */
std::vector<std::string> recorded_steps(std::string const& path)
{
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> rows;
    if (sqlite3_prepare_v2(db, "SELECT version, applied_at IS NULL FROM schema_migrations ORDER BY version", -1, &st,
                           nullptr) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            rows.push_back(std::to_string(sqlite3_column_int64(st, 0)) +
                           (sqlite3_column_int(st, 1) ? " null" : " time"));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

/**
 * A database file as relays with schema version 2 left it: steps 1 and 2 are append-only, so a
 * current file without what steps 3 and 4 added is exactly what version-2 DDL created.
 */
void make_version_2_file(std::string const& path, captured_log& log)
{
    {
        auto s = open_or_fail(path, log.get());
        make_user(*s, "alice@example.com");
    }
    exec_sql(path, "DROP TABLE schema_migrations; ALTER TABLE devices DROP COLUMN public_key; "
                   "ALTER TABLE devices DROP COLUMN key_type; PRAGMA user_version = 2;");
    REQUIRE(read_be32(path, header_user_version) == 2);
}

std::vector<bool> applied(schema_status const& status)
{
    std::vector<bool> out;
    for (auto const& step : status.steps)
        out.push_back(step.applied);
    return out;
}

} // namespace

TEST_CASE("migrations: the status of a file that does not exist is version 0, and the file is not created")
{
    temp_dir dir;
    auto const path = dir.file("relay.db");
    auto status = read_schema_status(path);
    REQUIRE(status);
    CHECK(status->backend == "sqlite");
    CHECK(status->current == 0);
    CHECK(status->known == known_version);
    REQUIRE(status->steps.size() == known_version);
    CHECK(applied(*status) == std::vector<bool>{false, false, false, false});
    for (auto const& step : status->steps) {
        CHECK_FALSE(step.name.empty());
        CHECK_FALSE(step.applied_at);
    }
    CHECK(status->steps[2].version == 3);
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("migrations: a new file records every step with the time it was applied")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    open_or_fail(path, log.get());
    CHECK(recorded_steps(path) == std::vector<std::string>{"1 time", "2 time", "3 time", "4 time"});
    auto status = read_schema_status(path);
    REQUIRE(status);
    CHECK(status->current == known_version);
    CHECK(applied(*status) == std::vector<bool>{true, true, true, true});
    for (auto const& step : status->steps)
        CHECK(step.applied_at);
}

TEST_CASE("migrations: a version-2 file shows steps 3 and 4 pending, and migrates in place keeping its data")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    make_version_2_file(path, log);

    auto before = read_schema_status(path);
    REQUIRE(before);
    CHECK(before->current == 2);
    CHECK(applied(*before) == std::vector<bool>{true, true, false, false});
    CHECK(read_be32(path, header_user_version) == 2); // reading changed nothing

    SUBCASE("migrate_schema")
    {
        auto after = migrate_schema(path);
        REQUIRE(after);
        CHECK(after->current == known_version);
        CHECK(applied(*after) == std::vector<bool>{true, true, true, true});
        // Steps applied by an older relay have no time; the new one has.
        CHECK_FALSE(after->steps[0].applied_at);
        CHECK_FALSE(after->steps[1].applied_at);
        CHECK(after->steps[2].applied_at);
        CHECK(after->steps[3].applied_at);
    }
    SUBCASE("opening the store (relayd serve)")
    {
        open_or_fail(path, log.get());
        CHECK(log.text().find("store.migrated") != std::string::npos);
    }
    CHECK(read_be32(path, header_user_version) == known_version);
    CHECK(recorded_steps(path) == std::vector<std::string>{"1 null", "2 null", "3 time", "4 time"});
    auto s = open_or_fail(path, log.get());
    CHECK(s->find_user_by_email("alice@example.com"));

    // Migrating again is a no-op.
    auto again = migrate_schema(path);
    REQUIRE(again);
    CHECK(again->current == known_version);
    CHECK(recorded_steps(path) == std::vector<std::string>{"1 null", "2 null", "3 time", "4 time"});
}

TEST_CASE("migrations: with migrate = false, pending steps refuse to open and nothing is written")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    make_version_2_file(path, log);
    store_options options;
    options.log = log.get();
    options.migrate = false;

    auto opened = open_store(path, options);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find("relayd db migrate") != std::string::npos);
    CHECK(opened.error().message.find("version 2") != std::string::npos);
    CHECK(read_be32(path, header_user_version) == 2);
    CHECK(recorded_steps(path).empty());

    REQUIRE(migrate_schema(path));
    CHECK(open_store(path, options)); // up to date: opens

    // A missing file is not created just to be refused.
    auto missing = open_store(dir.file("missing.db"), options);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("relayd db migrate") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));
}

TEST_CASE("migrations: a schema newer than this relay knows is refused with one line, and nothing is written")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    open_or_fail(path, log.get());
    exec_sql(path, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (5, 'from the future', 5); "
                   "PRAGMA user_version = 5;");
    auto const expected = "the database schema is version 5, newer than version 4 that this relayd knows; run the "
                          "relayd that migrated it (or a newer one), or restore a backup";

    store_options options;
    options.log = log.get();
    auto opened = open_store(path, options);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find(expected) != std::string::npos);
    CHECK(opened.error().message.find('\n') == std::string::npos);

    auto migrated = migrate_schema(path, options);
    REQUIRE_FALSE(migrated);
    CHECK(migrated.error().message.find(expected) != std::string::npos);

    auto status = read_schema_status(path, options);
    REQUIRE(status);
    CHECK(status->current == 5);
    CHECK(status->known == known_version);
    REQUIRE(status->steps.size() == 5);
    CHECK(status->steps[4].name == "from the future");
    CHECK(status->steps[4].applied);
    CHECK(status->steps[4].applied_at == 5);

    CHECK(read_be32(path, header_user_version) == 5);
    CHECK(recorded_steps(path) == std::vector<std::string>{"1 time", "2 time", "3 time", "4 time", "5 time"});
}

TEST_CASE("migrations: the status of a file that is not a relay database is an error")
{
    temp_dir dir;
    auto const path = dir.file("other.db");
    exec_sql(path, "CREATE TABLE notes (body TEXT);");
    auto status = read_schema_status(path);
    REQUIRE_FALSE(status);
    CHECK(status.error().message.find("another application") != std::string::npos);

    std::ofstream(dir.file("junk.db"), std::ios::binary) << std::string(4096, 'x');
    auto junk = read_schema_status(dir.file("junk.db"));
    REQUIRE_FALSE(junk);
    CHECK(junk.error().message.find("not a SQLite database") != std::string::npos);
}

TEST_CASE("migrations: a version-3 file gains device keys, and its devices keep their secrets")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    {
        auto s = open_or_fail(path, log.get());
        make_device(*s, "old-1", make_user(*s, "alice@example.com").id);
    }
    // What a version-3 relay left: the file without step 4's columns.
    exec_sql(path, "ALTER TABLE devices DROP COLUMN public_key; ALTER TABLE devices DROP COLUMN key_type; "
                   "DELETE FROM schema_migrations WHERE version = 4; PRAGMA user_version = 3;");

    auto s = open_or_fail(path, log.get());
    CHECK(log.text().find("store.migrated") != std::string::npos);
    auto d = s->get_device("old-1");
    REQUIRE(d);
    CHECK(d->key_type == device_key_type::secret);
    CHECK(d->secret_sealed == "sealed:old-1");
    CHECK(d->public_key.empty());
    REQUIRE(s->set_device_key("old-1", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"));
    CHECK(s->get_device("old-1")->key_type == device_key_type::ed25519);
}
