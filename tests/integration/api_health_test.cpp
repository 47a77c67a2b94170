// GET /health against a real relayd whose database file fails under it: deleted, read-only,
// replaced; and relayd refusing to start on a database that was lost (docs/store.md, "Health").
#include "integration/api_test_helpers.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

using namespace api_test;

namespace {

/** GET /health; the store check's text when it is degraded. */
struct health {
    unsigned status = 0;
    std::string state;
    std::string store;
};

health get_health(std::uint16_t port)
{
    auto r = http_get(port, "/health");
    CAPTURE(r.body);
    health h{r.status, {}, {}};
    auto body = r.json();
    if (auto const* o = body.if_object()) {
        if (auto const* s = o->if_contains("status"); s && s->is_string())
            h.state = std::string(s->get_string());
        if (auto const* checks = o->if_contains("checks"); checks && checks->is_object())
            if (auto const* s = checks->get_object().if_contains("store"); s && s->is_string())
                h.store = std::string(s->get_string());
    }
    return h;
}

/** GET /health once its last answer has gone stale: the checks run at most once a second, and
 * calls within that second share one run's answer (docs/api.md, "Health"). */
health health_after_change(std::uint16_t port)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    return get_health(port);
}

/** Makes the file immutable (chattr +i) for its lifetime; even root cannot open it for writing. */
class immutable_file {
public:
    explicit immutable_file(std::string path) : path_(std::move(path))
    {
        applied_ = std::system(("chattr +i '" + path_ + "' 2>/dev/null").c_str()) == 0;
    }
    ~immutable_file()
    {
        if (applied_ && std::system(("chattr -i '" + path_ + "'").c_str()) != 0)
            std::fprintf(stderr, "could not undo chattr +i on %s; remove it by hand\n", path_.c_str());
    }
    immutable_file(immutable_file const&) = delete;
    immutable_file& operator=(immutable_file const&) = delete;
    bool applied() const noexcept { return applied_; }

private:
    std::string path_;
    bool applied_ = false;
};

/** A small tmpfs mounted on a fresh directory for its lifetime (root only); unmounted lazily so a
 * relay still holding files there cannot keep it. */
class small_tmpfs {
public:
    small_tmpfs()
    {
        mounted_ = ::geteuid() == 0
                && std::system(("mount -t tmpfs -o size=4m tmpfs '" + dir_.path() + "' 2>/dev/null").c_str()) == 0;
    }
    ~small_tmpfs()
    {
        if (mounted_ && std::system(("umount -l '" + dir_.path() + "'").c_str()) != 0)
            std::fprintf(stderr, "could not unmount the test tmpfs on %s\n", dir_.path().c_str());
    }
    small_tmpfs(small_tmpfs const&) = delete;
    small_tmpfs& operator=(small_tmpfs const&) = delete;
    bool mounted() const noexcept { return mounted_; }
    std::string const& path() const noexcept { return dir_.path(); }

private:
    temp_dir dir_;
    bool mounted_ = false;
};

} // namespace

TEST_CASE("health: a database file deleted under the relay is degraded, and a restart refuses to start empty")
{
    file_database db;
    {
        relayd_process relayd(db.env);
        register_user(relayd.port(), "ann@example.com");
        auto fine = get_health(relayd.port());
        CHECK(fine.status == 200);
        CHECK(fine.state == "ok");

        std::filesystem::remove(db.path);
        std::filesystem::remove(db.path + "-wal");
        std::filesystem::remove(db.path + "-shm");
        auto gone = health_after_change(relayd.port());
        CHECK(gone.status == 503);
        CHECK(gone.state == "degraded");
        CHECK(gone.store.find("is gone") != std::string::npos);
        CHECK(gone.store.find(db.path) != std::string::npos);
    }
    // The key kept beside the database shows a database was there: no silent empty start.
    REQUIRE(std::filesystem::exists(db.path + ".key"));
    std::string output;
    try {
        relayd_process again(db.env);
        FAIL("relayd started on a lost database");
    } catch (std::runtime_error const& e) {
        output = e.what();
    }
    CHECK(output.find(" is missing but ") != std::string::npos);
    CHECK(output.find(".key exists beside it") != std::string::npos);
    CHECK(!std::filesystem::exists(db.path));

    // Starting empty on purpose: remove the key too.
    std::filesystem::remove(db.path + ".key");
    relayd_process fresh(db.env);
    CHECK(get_health(fresh.port()).status == 200);
}

TEST_CASE("health: a database file replaced under the relay is degraded")
{
    file_database db;
    relayd_process relayd(db.env);
    CHECK(get_health(relayd.port()).status == 200);
    // Another file now has the name (a restore over a running relay, a moved volume).
    std::filesystem::rename(db.path, db.path + ".old");
    std::filesystem::copy_file(db.path + ".old", db.path);
    auto replaced = health_after_change(relayd.port());
    CHECK(replaced.status == 503);
    CHECK(replaced.store.find("was replaced") != std::string::npos);
}

TEST_CASE("health: a read-only database at start is degraded, not ok")
{
    // Only chattr +i stops root (and file modes stop nobody else for long): the suite runs as
    // root, as CI does.
    REQUIRE_MESSAGE(::geteuid() == 0, "the read-only database test needs root for chattr +i: run the suite as root");
    file_database db;
    {
        relayd_process relayd(db.env);
        register_user(relayd.port(), "ann@example.com");
        CHECK(relayd.stop() == 0);
    }
    immutable_file frozen(db.path);
    REQUIRE_MESSAGE(frozen.applied(), "chattr +i failed: chattr is missing (apt-get install e2fsprogs) or "
                                          << std::filesystem::temp_directory_path().string() << " does not support it");
    relayd_process relayd(db.env);
    auto h = get_health(relayd.port());
    CHECK(h.status == 503);
    CHECK(h.state == "degraded");
    CHECK(h.store.find("read-only") != std::string::npos);
    // Logins need a write: they fail as the health check says.
    CHECK(http_json(relayd.port(), "POST", "/api/auth/login",
                    json::object{{"email", "ann@example.com"}, {"password", good_password}})
              .status == 503);
}

TEST_CASE("health: a full disk is degraded, as the logins it refuses")
{
    small_tmpfs disk;
    REQUIRE_MESSAGE(disk.mounted(), "the full-disk test mounts a small tmpfs: run the suite as root (mount is in "
                                    "util-linux's mount package)");
    auto path = disk.path() + "/relay.db";
    relayd_process relayd(test_env({{"RELAY_DATABASE", path}}));
    register_user(relayd.port(), "ann@example.com");
    CHECK(get_health(relayd.port()).status == 200);
    {
        // Fill every page that is left (tmpfs allocates whole pages), unbuffered so nothing is
        // left over in a buffer.
        int fd = ::open((disk.path() + "/fill").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        REQUIRE(fd >= 0);
        std::string const page(4096, 'x');
        while (::write(fd, page.data(), page.size()) > 0)
            ;
        ::close(fd);
    }
    auto full = health_after_change(relayd.port());
    CHECK(full.status == 503);
    CHECK(full.state == "degraded");
    CHECK(full.store.find("full") != std::string::npos);
    std::filesystem::remove(disk.path() + "/fill");
    CHECK(health_after_change(relayd.port()).status == 200);
}

TEST_CASE("health: the checks run at most once a second however often /health is called")
{
    // /health needs no login and the store check writes: a flood must not become a flood of writes.
    relayd_process relayd;
    auto store_checks = [&] {
        auto body = http_get(relayd.port(), "/metrics").body;
        auto at = body.find("relay_store_duration_seconds_count{op=\"check\"} ");
        if (at == std::string::npos)
            return 0LL;
        return std::stoll(body.substr(body.find(' ', at) + 1));
    };
    auto before = store_checks();
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 40; ++i)
        REQUIRE(http_get(relayd.port(), "/health").status == 200);
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CAPTURE(seconds);
    // One run per started second of the burst, at most, and one more at its start.
    CHECK(store_checks() - before <= static_cast<long long>(seconds) + 2);
    CHECK(store_checks() - before >= 1);
}
