#pragma once
// Shared helpers for the store tests: a temporary directory, opening a store on each backend
// (SQLite in memory, SQLite on a file, PostgreSQL), and reading the SQLite file header.
#include "pg/postgres_server.hpp"

#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <stdlib.h>

// doctest prints an operand of a failed check; show a result as its error's text, since the
// records have no operator<<.
namespace doctest {
template <class T, class E> struct StringMaker<boost::system::result<T, E>> {
    static String convert(boost::system::result<T, E> const& r)
    {
        if (r)
            return "(value)";
        if constexpr (std::is_same_v<E, relay::store::open_error> || std::is_same_v<E, relay::store::health_problem>)
            return r.error().message.c_str();
        else
            return r.error().message().c_str();
    }
};
} // namespace doctest

namespace relay::store::test {

/** A fresh directory under the system's temporary directory, removed with its contents. */
class temp_dir {
public:
    temp_dir()
    {
        auto pattern = (std::filesystem::temp_directory_path() / "relay-store-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;

    std::filesystem::path const& path() const { return path_; }
    std::string file(std::string const& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

/** A logger writing to a temporary file, so tests stay quiet and can read what was logged. */
class captured_log {
public:
    captured_log() : file_(std::tmpfile()), log_(telemetry::log_level::debug, telemetry::log_format::text, file_) {}
    ~captured_log() { std::fclose(file_); }
    captured_log(captured_log const&) = delete;
    captured_log& operator=(captured_log const&) = delete;

    telemetry::logger* get() { return &log_; }

    std::string text()
    {
        std::fflush(file_);
        std::rewind(file_);
        std::string out;
        std::array<char, 4096> buf{};
        while (auto n = std::fread(buf.data(), 1, buf.size(), file_))
            out.append(buf.data(), n);
        std::fseek(file_, 0, SEEK_END);
        return out;
    }

private:
    std::FILE* file_;
    telemetry::logger log_;
};

/** Opens a store at `location` or fails the test with open_store's message. */
inline std::unique_ptr<store> open_or_fail(std::string const& location, telemetry::logger* log)
{
    store_options options;
    options.log = log;
    auto opened = open_store(location, options);
    if (!opened)
        FAIL("open_store(" << redact_location(location) << "): " << opened.error().message);
    return std::move(*opened);
}

/** Backends for TEST_CASE_TEMPLATE, so every behaviour is checked on each of them. Each names
 * the event it logs when the database fails and how its log shows a unique-key violation, for the
 * few tests that read the log. */
struct sqlite_backend {
    static constexpr char const* failure_event = "store.sqlite_failed";
    static constexpr char const* duplicate_key = "UNIQUE constraint failed";
};
struct sqlite_in_memory : sqlite_backend {
    static std::string location(temp_dir const&) { return ":memory:"; }
};
struct sqlite_on_file : sqlite_backend {
    static std::string location(temp_dir const& dir) { return dir.file("relay.db"); }
};
/** A fresh database on the shared PostgreSQL server (tests/pg/): one per call. */
struct postgresql {
    static constexpr char const* failure_event = "store.postgresql_failed";
    static constexpr char const* duplicate_key = "sqlstate=23505"; // unique_violation
    static std::string location(temp_dir const&) { return relay::test::pg::shared_server().create_database(); }
};

/** Opens a fresh store of `Backend`; `dir` must outlive it. */
template <class Backend> std::unique_ptr<store> open_backend(temp_dir const& dir, telemetry::logger* log)
{
    return open_or_fail(Backend::location(dir), log);
}

/** What most test cases start from, taken apart in one line:
 *  `auto&& [dir, log, s] = fresh_store<backend>{};` */
template <class Backend> struct fresh_store {
    temp_dir dir;
    captured_log log;
    std::unique_ptr<store> s = open_backend<Backend>(dir, log.get());
};

/** A user for tests; fails the test if it cannot be created. */
inline user make_user(store& s, std::string const& email, unix_seconds now = 1000)
{
    auto u = s.create_user(email, "hash-of-" + email, now);
    REQUIRE_MESSAGE(u, email);
    return *u;
}

/** Two users, "alice@example.com" and "bob@example.com", for the sharing tests. */
inline std::pair<user, user> alice_and_bob(store& s)
{
    return {make_user(s, "alice@example.com"), make_user(s, "bob@example.com")};
}

/** A device for tests, owned by `owner`; fails the test if it cannot be created. */
inline device make_device(store& s, std::string const& device_id, std::string const& owner_id,
                          std::string const& name = "robot")
{
    device d;
    d.device_id = device_id;
    d.name = name;
    d.secret_sealed = "sealed:" + device_id;
    d.created_at = 1000;
    auto r = s.create_device(d, owner_id);
    REQUIRE_MESSAGE(r, device_id);
    return d;
}

/** Reads the big-endian 32-bit integer at `offset` of a file (SQLite header fields). */
inline std::uint32_t read_be32(std::string const& file, std::streamoff offset)
{
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    in.seekg(offset);
    std::array<unsigned char, 4> b{};
    in.read(reinterpret_cast<char*>(b.data()), 4);
    REQUIRE(in);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

/** Overwrites the big-endian 32-bit integer at `offset` of a file. */
inline void write_be32(std::string const& file, std::streamoff offset, std::uint32_t value)
{
    std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
    REQUIRE(io);
    io.seekp(offset);
    std::array<char, 4> b{static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                          static_cast<char>(value >> 8), static_cast<char>(value)};
    io.write(b.data(), 4);
    REQUIRE(io);
}

/** Reads one byte of a file. */
inline unsigned read_byte(std::string const& file, std::streamoff offset)
{
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    in.seekg(offset);
    char c = 0;
    in.read(&c, 1);
    REQUIRE(in);
    return static_cast<unsigned char>(c);
}

} // namespace relay::store::test

// The backends' names in the test cases' names ("users: …<sqlite_on_file>"): without them both
// instances of a case would have one name, and ctest could not run them apart.
TYPE_TO_STRING_AS("sqlite_in_memory", relay::store::test::sqlite_in_memory);
TYPE_TO_STRING_AS("sqlite_on_file", relay::store::test::sqlite_on_file);
TYPE_TO_STRING_AS("postgresql", relay::store::test::postgresql);

/** A test case run once per backend; the body names the backend type `backend`. */
#define RELAY_STORE_TEST(name)                                                                           \
    TEST_CASE_TEMPLATE(name, backend, relay::store::test::sqlite_in_memory, relay::store::test::sqlite_on_file,       \
                       relay::store::test::postgresql)
