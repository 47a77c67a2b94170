// What only a real file shows: opening errors, persistence across reopening, WAL, migrations.
#include "store/store_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <sqlite3.h>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

// Offsets in the SQLite file header (https://www.sqlite.org/fileformat.html#the_database_header).
constexpr std::streamoff header_write_version = 18; // 2 when the file is in WAL mode
constexpr std::streamoff header_read_version = 19;  // 2 when the file is in WAL mode
constexpr std::streamoff header_user_version = 60;
constexpr std::streamoff header_application_id = 68;

constexpr std::uint32_t relay_application_id = 0x524c4159; // "RLAY"
constexpr std::uint32_t current_schema_version = 4;

std::string open_failure(std::string const& location)
{
    captured_log log;
    store_options options;
    options.log = log.get();
    auto opened = open_store(location, options);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code);
    return opened.error().message;
}

} // namespace

TEST_CASE("open_store: locations it refuses, with a message that says why")
{
    temp_dir dir;

    // Nothing listens on port 1: the message names the server (without a password) and why.
    auto pg = open_failure("postgresql://relay:hunter2@127.0.0.1:1/relay");
    CHECK(pg.find("PostgreSQL at postgresql://relay:***@127.0.0.1:1/relay") != std::string::npos);
    CHECK(pg.find("unreachable") != std::string::npos);
    CHECK(pg.find("hunter2") == std::string::npos);
    CHECK(open_failure("postgres://127.0.0.1:1/relay").find("PostgreSQL") != std::string::npos);

    CHECK(open_failure("").find("empty") != std::string::npos);

    auto missing_dir = open_failure(dir.file("no/such/dir/relay.db"));
    CHECK(missing_dir.find("does not exist") != std::string::npos);
    CHECK(missing_dir.find("no/such/dir") != std::string::npos);
    CHECK(!std::filesystem::exists(dir.path() / "no"));

    CHECK(open_failure(dir.path().string()).find("directory") != std::string::npos);

    {
        std::ofstream junk(dir.file("junk.db"), std::ios::binary);
        junk << std::string(4096, 'x');
    }
    CHECK(open_failure(dir.file("junk.db")).find("not a SQLite database") != std::string::npos);
}

TEST_CASE("open_store: value() throws the message, for callers that prefer exceptions")
{
    auto opened = open_store("postgresql://db/relay");
    REQUIRE_FALSE(opened);
    CHECK_THROWS_WITH_AS(opened.value(), doctest::Contains("PostgreSQL"), std::exception);
}

TEST_CASE("sqlite file: WAL mode, schema stamp, and everything still there after reopening")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    std::string alice_id;
    {
        auto s = open_or_fail(path, log.get());
        CHECK(s->check());
        auto alice = make_user(*s, "alice@example.com");
        alice_id = alice.id;
        auto bob = make_user(*s, "bob@example.com");
        make_device(*s, "d1", alice.id, "Kitchen");
        REQUIRE(s->add_member("d1", bob.id, role::operator_));
        REQUIRE(s->record_device_seen("d1", 3000, std::string_view("{}"), std::string_view("1.0")));
        REQUIRE(s->insert_refresh_token(refresh_token{"t1", "f1", alice.id, 1000, 90000, false, false}));
        REQUIRE(s->insert_refresh_token(refresh_token{"t2", "f2", bob.id, 1000, 90000, false, false}));
        REQUIRE(s->consume_refresh_token("t1", 2000));
        REQUIRE(s->insert_reset_token(reset_token{"r1", bob.id, 90000, false}));
        REQUIRE(s->insert_session(webrtc_session{"s1", "d1", bob.id, 100, {}, {}, {}, {}, {}}));

        // WAL is really on: the log file exists beside the database while it is open
        CHECK(std::filesystem::exists(path + "-wal"));
    }
    // closing checkpoints the log into the file
    CHECK(!std::filesystem::exists(path + "-wal"));
    CHECK(read_byte(path, header_write_version) == 2);
    CHECK(read_byte(path, header_read_version) == 2);
    CHECK(read_be32(path, header_user_version) == current_schema_version);
    CHECK(read_be32(path, header_application_id) == relay_application_id);
    // nothing failed, so nothing was logged at error level
    CHECK(log.text().find("store.sqlite_failed") == std::string::npos);
    CHECK(log.text().find("store.migrated") != std::string::npos);

    for (int reopening = 0; reopening < 2; ++reopening) {
        CAPTURE(reopening);
        auto s = open_or_fail(path, log.get());
        // reopening migrates nothing
        CHECK(read_be32(path, header_user_version) == current_schema_version);
        CHECK(s->check());

        auto users = s->list_users();
        REQUIRE(users);
        CHECK(users->size() == 2);
        auto alice = s->find_user_by_email("alice@example.com");
        REQUIRE(alice);
        CHECK(alice->id == alice_id);
        auto bob = s->find_user_by_email("bob@example.com");
        REQUIRE(bob);

        auto d = s->get_device("d1");
        REQUIRE(d);
        CHECK(d->name == "Kitchen");
        CHECK(d->last_seen == 3000);
        CHECK(d->firmware == "1.0");
        CHECK(s->role_of(alice_id, "d1").value() == role::owner);
        CHECK(s->role_of(bob->id, "d1").value() == role::operator_);
        CHECK(s->list_sessions("d1", 10)->size() == 1);

        if (reopening == 0) {
            // the rotation of t1 was remembered: presenting it again is reuse
            CHECK(s->consume_refresh_token("t1", 2100)->outcome == refresh_outcome::reuse_detected);
            CHECK(s->consume_refresh_token("t2", 2100)->outcome == refresh_outcome::rotated);
            CHECK(*s->consume_reset_token("r1", 2100) == bob->id);
        } else {
            // and so was what the first reopening did
            CHECK(s->consume_refresh_token("t1", 2200).error() == errc::unauthorized);
            CHECK(s->consume_refresh_token("t2", 2200)->outcome == refresh_outcome::reuse_detected);
            CHECK(s->consume_reset_token("r1", 2200).error() == errc::invalid_token);
        }
    }
    CHECK(log.text().find("store.sqlite_failed") == std::string::npos);
}

TEST_CASE("sqlite file: a database from a newer relay, or from another program, is refused untouched")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    {
        auto s = open_or_fail(path, log.get());
        make_user(*s, "alice@example.com");
    }

    SUBCASE("newer schema")
    {
        write_be32(path, header_user_version, 99);
        auto message = open_failure(path);
        CHECK(message.find("newer") != std::string::npos);
        CHECK(message.find("99") != std::string::npos);
        CHECK(read_be32(path, header_user_version) == 99);
    }

    SUBCASE("another application's id")
    {
        write_be32(path, header_application_id, 0x12345678);
        CHECK(open_failure(path).find("another application") != std::string::npos);
        CHECK(read_be32(path, header_application_id) == 0x12345678);
    }

    SUBCASE("tables but no relay stamp")
    {
        write_be32(path, header_application_id, 0);
        write_be32(path, header_user_version, 0);
        CHECK(open_failure(path).find("another application") != std::string::npos);
        CHECK(read_be32(path, header_user_version) == 0);
    }

    SUBCASE("the unchanged file opens again")
    {
        auto s = open_or_fail(path, log.get());
        CHECK(s->find_user_by_email("alice@example.com"));
    }
}

TEST_CASE("sqlite file: check() writes, and fails when the file is deleted or replaced under the store")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    auto s = open_or_fail(path, log.get());
    REQUIRE(s->check());
    REQUIRE(s->check()); // the health row is rewritten, not added again

    SUBCASE("deleted")
    {
        std::filesystem::remove(path);
        auto gone = s->check();
        REQUIRE_FALSE(gone);
        CHECK(gone.error().code == errc::unavailable);
        CHECK(gone.error().message.find("is gone") != std::string::npos);
        CHECK(gone.error().message.find(path) != std::string::npos);
        CHECK(log.text().find("store.file_gone") != std::string::npos);
    }

    SUBCASE("replaced by another file")
    {
        std::filesystem::rename(path, path + ".old");
        std::filesystem::copy_file(path + ".old", path);
        auto replaced = s->check();
        REQUIRE_FALSE(replaced);
        CHECK(replaced.error().code == errc::unavailable);
        CHECK(replaced.error().message.find("was replaced") != std::string::npos);
    }
}

TEST_CASE("sqlite :memory: stores are independent of each other")
{
    captured_log log;
    auto a = open_or_fail(":memory:", log.get());
    auto b = open_or_fail(":memory:", log.get());
    make_user(*a, "alice@example.com");
    CHECK(b->find_user_by_email("alice@example.com").error() == errc::user_not_found);
    CHECK(a->check());
    CHECK(b->check());
}

TEST_CASE("without a logger the store still opens (it logs to stderr)")
{
    auto opened = open_store(":memory:");
    REQUIRE(opened);
    CHECK((*opened)->check());
}

TEST_CASE("sqlite file: roles are stored as 1, 2, 3 whatever the enum's order, and read back")
{
    temp_dir dir;
    captured_log log;
    auto const path = dir.file("relay.db");
    {
        auto s = open_or_fail(path, log.get());
        auto alice = make_user(*s, "alice@example.com");
        auto bob = make_user(*s, "bob@example.com");
        auto carol = make_user(*s, "carol@example.com");
        make_device(*s, "d1", alice.id, "Kitchen");
        REQUIRE(s->add_member("d1", bob.id, role::viewer));
        REQUIRE(s->add_member("d1", carol.id, role::operator_));
    }
    // Read the numbers with SQLite itself: they are what files written by earlier relays hold.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id "
                               "ORDER BY u.email",
                               -1, &st, nullptr) == SQLITE_OK);
    std::vector<std::pair<std::string, int>> rows;
    while (sqlite3_step(st) == SQLITE_ROW)
        rows.emplace_back(reinterpret_cast<char const*>(sqlite3_column_text(st, 0)), sqlite3_column_int(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK(rows == std::vector<std::pair<std::string, int>>{
                      {"alice@example.com", 3}, {"bob@example.com", 1}, {"carol@example.com", 2}});

    auto s = open_or_fail(path, log.get());
    auto members = s->list_members("d1");
    REQUIRE(members);
    REQUIRE(members->size() == 3);
    for (auto const& m : *members) {
        CAPTURE(m.email);
        auto const expected = m.email == "alice@example.com" ? role::owner
                              : m.email == "bob@example.com" ? role::viewer
                                                             : role::operator_;
        CHECK(m.access == expected);
    }
}
