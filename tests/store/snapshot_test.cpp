// Exporting and importing every row (relayd db copy): what goes out is what was put in, and a
// copy answers every read as the original does, on each backend.
#include "store/store_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

/** `pattern` with each `{}` replaced by the next argument (bools as true/false); `{{` and `}}`
 * stand for braces. Enough of a format for test lines, without linking a formatting library. */
template <class... Args> std::string fill(std::string_view pattern, Args const&... args)
{
    std::vector<std::string> values;
    auto text = [](auto const& v) {
        std::ostringstream out;
        out << std::boolalpha << v;
        return out.str();
    };
    (values.push_back(text(args)), ...);
    std::string out;
    std::size_t next = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern.substr(i, 2) == "{}") {
            REQUIRE(next < values.size());
            out += values[next++];
            ++i;
        } else if (pattern.substr(i, 2) == "{{" || pattern.substr(i, 2) == "}}") {
            out += pattern[i];
            ++i;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

std::string show(std::optional<std::int64_t> v)
{
    return v ? std::to_string(*v) : "null";
}

std::string show(std::optional<std::string> const& v)
{
    return v ? "'" + *v + "'" : "null";
}

/** Every row of a snapshot as one line of text, in the snapshot's order, so that a difference
 * shows as the line that differs. */
std::vector<std::string> lines(snapshot const& rows)
{
    std::vector<std::string> out;
    for (auto const& u : rows.users)
        out.push_back(fill("user {} {} {} {}", u.id, u.email, u.password_hash, u.created_at));
    for (auto const& t : rows.refresh_tokens)
        out.push_back(fill("refresh {} {} {} {} {} used={} revoked={}", t.token_hash, t.family_id, t.user_id,
                                  t.issued_at, t.expires_at, t.used, t.revoked));
    for (auto const& t : rows.reset_tokens)
        out.push_back(fill("reset {} {} {} used={}", t.token_hash, t.user_id, t.expires_at, t.used));
    for (auto const& d : rows.devices)
        out.push_back(fill("device {} {} {} {} {} '{}' {}", d.device_id, d.name, d.secret_sealed,
                                  d.created_at, show(d.last_seen), d.capabilities, show(d.firmware)));
    for (auto const& m : rows.memberships)
        out.push_back(fill("member {} {} {}", m.device_id, m.user_id, static_cast<int>(m.access)));
    for (auto const& s : rows.sessions)
        out.push_back(fill("session {} {} {} {} {} {} {} {} {}", s.session_id, s.device_id, s.user_id,
                                  s.started_at, show(s.connected_at), show(s.ended_at), show(s.connection_type),
                                  show(s.end_reason), show(s.rtt_ms)));
    // Without the id: an import numbers entries anew, in the same order.
    for (auto const& e : rows.audit)
        out.push_back(fill("audit {} '{}' {} {} {} {} {}", e.at_ms, e.actor, e.action, show(e.device_id),
                           show(e.target_user_id), e.client_address, e.detail));
    return out;
}

std::vector<std::string> exported(store& s)
{
    auto rows = s.export_snapshot();
    REQUIRE(rows);
    return lines(*rows);
}

constexpr unix_seconds now = 10'000;
constexpr unix_seconds later = now + 3600;

/** What populate() made, for the checks that follow. */
struct population {
    user alice, bob, carol;
};

/**
 * A store with a bit of everything: three users, a login rotated once (its first token used),
 * a logged-out login (revoked), two reset tokens (one used), two devices (one seen, with
 * capabilities and firmware), every role, and sessions of which three started in one second.
 */
population populate(store& s)
{
    population p{make_user(s, "alice@example.com", 1000), make_user(s, "bob@example.com", 1001),
                 make_user(s, "carol@example.com", 1002)};
    REQUIRE(s.insert_refresh_token({"rt-alice-1", "fam-alice", p.alice.id, now, later}));
    REQUIRE(s.consume_refresh_token("rt-alice-1", now + 1));
    REQUIRE(s.insert_refresh_token({"rt-alice-2", "fam-alice", p.alice.id, now + 1, later}));
    REQUIRE(s.insert_refresh_token({"rt-bob-1", "fam-bob", p.bob.id, now, later}));
    REQUIRE(s.revoke_refresh_token("rt-bob-1"));
    REQUIRE(s.insert_reset_token({"reset-carol-used", p.carol.id, later}));
    REQUIRE(s.consume_reset_token("reset-carol-used", now));
    REQUIRE(s.insert_reset_token({"reset-carol", p.carol.id, later}));

    make_device(s, "robot-1", p.alice.id, "Kitchen");
    make_device(s, "robot-2", p.bob.id, "Garage");
    REQUIRE(s.record_device_seen("robot-1", now, std::string_view(R"({"video":true})"), std::string_view("1.2.3")));
    REQUIRE(s.add_member("robot-1", p.bob.id, role::operator_));
    REQUIRE(s.add_member("robot-1", p.carol.id, role::viewer));
    REQUIRE(s.add_member("robot-2", p.alice.id, role::viewer));

    for (auto const* id : {"sess-b", "sess-a", "sess-c"}) // one second, not in id order
        REQUIRE(s.insert_session(started(id, "robot-1", p.bob.id, now)));
    REQUIRE(s.insert_session(started("sess-d", "robot-2", p.alice.id, now + 5)));
    REQUIRE(s.mark_session_connected("sess-a", now + 1, "relay", 42));
    REQUIRE(s.end_session("sess-a", now + 9, "hangup"));

    REQUIRE(s.insert_audit({0, now * 1000, p.alice.id, "device.added", "robot-1", std::nullopt, "192.0.2.1", "{}"}));
    REQUIRE(s.insert_audit({0, now * 1000 + 5, p.alice.id, "member.added", "robot-1", p.bob.id, "192.0.2.1",
                            R"({"role":"operator"})"}));
    REQUIRE(s.insert_audit({0, now * 1000 + 5, "", "auth.login_failed", std::nullopt, std::nullopt, "", "{}"}));
    return p;
}

/** Everything the relay reads, as text: a copy must answer each the same. */
std::vector<std::string> reads(store& s, population const& p)
{
    std::vector<std::string> out;
    auto users = s.list_users();
    REQUIRE(users);
    for (auto const& u : *users)
        out.push_back("list_users " + u.id + " " + u.email + " " + u.password_hash);
    for (auto const* email : {"alice@example.com", "bob@example.com", "carol@example.com"}) {
        auto u = s.find_user_by_email(email);
        REQUIRE(u);
        auto by_id = s.find_user_by_id(u->id);
        REQUIRE(by_id);
        out.push_back(fill("user {} {} {}", u->id, by_id->email, u->created_at));
    }
    auto devices = s.list_devices();
    REQUIRE(devices);
    for (auto const& d : *devices) {
        out.push_back(fill("device {} {} {} {} {} {}", d.device_id, d.name, d.secret_sealed,
                                  show(d.last_seen), d.capabilities, show(d.firmware)));
        auto members = s.list_members(d.device_id);
        REQUIRE(members);
        for (auto const& m : *members)
            out.push_back(fill("  member {} {} {}", m.user_id, m.email, static_cast<int>(m.access)));
        auto access = s.users_with_access(d.device_id);
        REQUIRE(access);
        for (auto const& a : *access)
            out.push_back(fill("  access {} {}", a.user_id, static_cast<int>(a.access)));
        auto sessions = s.list_sessions(d.device_id, 10);
        REQUIRE(sessions);
        for (auto const& x : *sessions)
            out.push_back(fill("  session {} {} {} {} {}", x.session_id, show(x.connected_at),
                                      show(x.ended_at), show(x.end_reason), show(x.rtt_ms)));
    }
    for (auto const* u : {&p.alice, &p.bob, &p.carol}) {
        auto mine = s.list_devices_for_user(u->id);
        REQUIRE(mine);
        for (auto const& d : *mine)
            out.push_back(fill("{} sees {} as {}", u->email, d.device.device_id, static_cast<int>(d.access)));
        auto r = s.role_of(u->id, "robot-2");
        REQUIRE(r);
        out.push_back(fill("{} on robot-2: {}", u->email, r->has_value() ? static_cast<int>(**r) : 0));
    }
    auto trail = s.list_audit({});
    REQUIRE(trail);
    for (auto const& e : *trail)
        out.push_back(fill("trail {} {} {}", e.at_ms, e.action, show(e.target_user_id)));
    return out;
}

} // namespace

RELAY_STORE_TEST("snapshot: the export of a populated store is exactly what was put in")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto p = populate(*s);
    auto rows = s->export_snapshot();
    REQUIRE(rows);
    CHECK(rows->users.size() == 3);
    CHECK(rows->refresh_tokens.size() == 3);
    CHECK(rows->reset_tokens.size() == 2);
    CHECK(rows->devices.size() == 2);
    CHECK(rows->memberships.size() == 5);
    CHECK(rows->sessions.size() == 4);
    CHECK(rows->audit.size() == 3);

    auto const text = lines(*rows);
    auto has = [&](std::string const& line) { return std::find(text.begin(), text.end(), line) != text.end(); };
    CHECK(has(fill("user {} alice@example.com hash-of-alice@example.com 1000", p.alice.id)));
    CHECK(has(fill("refresh rt-alice-1 fam-alice {} {} {} used=true revoked=false", p.alice.id, now, later)));
    CHECK(has(fill("refresh rt-alice-2 fam-alice {} {} {} used=false revoked=false", p.alice.id, now + 1, later)));
    CHECK(has(fill("refresh rt-bob-1 fam-bob {} {} {} used=false revoked=true", p.bob.id, now, later)));
    CHECK(has(fill("reset reset-carol-used {} {} used=true", p.carol.id, later)));
    CHECK(has(fill("reset reset-carol {} {} used=false", p.carol.id, later)));
    CHECK(has(fill("device robot-1 Kitchen sealed:robot-1 1000 {} '{{\"video\":true}}' '1.2.3'", now)));
    CHECK(has("device robot-2 Garage sealed:robot-2 1000 null '' null"));
    CHECK(has(fill("member robot-1 {} {}", p.alice.id, static_cast<int>(role::owner))));
    CHECK(has(fill("member robot-1 {} {}", p.bob.id, static_cast<int>(role::operator_))));
    CHECK(has(fill("member robot-2 {} {}", p.alice.id, static_cast<int>(role::viewer))));
    CHECK(has(fill("session sess-a robot-1 {} {} {} {} 'relay' 'hangup' 42", p.bob.id, now, now + 1, now + 9)));

    // Sessions in insertion order, which orders those that started in the same second.
    std::vector<std::string> session_ids;
    for (auto const& x : rows->sessions)
        session_ids.push_back(x.session_id);
    CHECK(session_ids == std::vector<std::string>{"sess-b", "sess-a", "sess-c", "sess-d"});
}

RELAY_STORE_TEST("snapshot: imported into an empty store, every read answers as the original")
{
    auto&& [dir, log, original] = fresh_store<backend>{};
    auto&& [dir2, log2, copy] = fresh_store<backend>{};
    auto p = populate(*original);
    auto rows = original->export_snapshot();
    REQUIRE(rows);
    REQUIRE(copy->import_snapshot(*rows, import_mode::into_empty));

    CHECK(exported(*copy) == lines(*rows));
    CHECK(reads(*copy, p) == reads(*original, p));

    // The login rotated once goes on: its current token rotates, its used one is reuse.
    auto next = copy->consume_refresh_token("rt-alice-2", now + 2);
    REQUIRE(next);
    CHECK(next->outcome == refresh_outcome::rotated);
    CHECK(next->user_id == p.alice.id);
    CHECK(next->family_id == "fam-alice");
    auto reused = copy->consume_refresh_token("rt-alice-1", now + 3);
    REQUIRE(reused);
    CHECK(reused->outcome == refresh_outcome::reuse_detected);
    CHECK(copy->consume_refresh_token("rt-bob-1", now + 3).error() == errc::unauthorized);
    // The reset token that was not used still works, the used one does not.
    CHECK(copy->consume_reset_token("reset-carol-used", now).error() == errc::invalid_token);
    auto reset = copy->consume_reset_token("reset-carol", now);
    REQUIRE(reset);
    CHECK(*reset == p.carol.id);
    // The copy goes on by itself: a new session and a new device fit in beside the copied ones.
    REQUIRE(copy->insert_session(started("sess-e", "robot-1", p.carol.id, now + 20)));
    auto sessions = copy->list_sessions("robot-1", 10);
    REQUIRE(sessions);
    REQUIRE(sessions->size() == 4);
    CHECK(sessions->front().session_id == "sess-e");
    make_device(*copy, "robot-3", p.carol.id);
}

RELAY_STORE_TEST("snapshot: into_empty refuses a store that holds anything, and changes nothing")
{
    auto&& [dir, log, original] = fresh_store<backend>{};
    auto&& [dir2, log2, target] = fresh_store<backend>{};
    populate(*original);
    auto rows = original->export_snapshot();
    REQUIRE(rows);

    SUBCASE("a user")
    {
        make_user(*target, "dave@example.com");
    }
    SUBCASE("a device (with its owner)")
    {
        make_device(*target, "robot-9", make_user(*target, "dave@example.com").id);
    }
    auto before = exported(*target);
    auto r = target->import_snapshot(*rows, import_mode::into_empty);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::forbidden);
    CHECK(exported(*target) == before);
}

RELAY_STORE_TEST("snapshot: replace deletes what the target held and imports everything")
{
    auto&& [dir, log, original] = fresh_store<backend>{};
    auto&& [dir2, log2, target] = fresh_store<backend>{};
    auto p = populate(*original);
    auto dave = make_user(*target, "dave@example.com");
    make_device(*target, "robot-1", dave.id, "the same id as the original's"); // replaced, not merged
    REQUIRE(target->insert_session(started("sess-a", "robot-1", dave.id, 5)));

    auto rows = original->export_snapshot();
    REQUIRE(rows);
    REQUIRE(target->import_snapshot(*rows, import_mode::replace));
    CHECK(exported(*target) == lines(*rows));
    CHECK(target->find_user_by_email("dave@example.com").error() == errc::user_not_found);
    CHECK(reads(*target, p) == reads(*original, p));
}

RELAY_STORE_TEST("snapshot: an import that fails part-way changes nothing")
{
    auto&& [dir, log, original] = fresh_store<backend>{};
    auto&& [dir2, log2, target] = fresh_store<backend>{};
    populate(*original);
    auto rows = original->export_snapshot();
    REQUIRE(rows);
    // The last membership names a user that is not in the snapshot: every row before it is
    // written first, then refused.
    rows->memberships.push_back(membership{"robot-2", "u_missing", role::viewer});

    SUBCASE("into an empty store")
    {
        CHECK_FALSE(target->import_snapshot(*rows, import_mode::into_empty));
        CHECK(exported(*target).empty());
        // Nothing half-written blocks a correct import afterwards.
        rows->memberships.pop_back();
        CHECK(target->import_snapshot(*rows, import_mode::into_empty));
    }
    SUBCASE("replacing: what was there stays")
    {
        make_device(*target, "robot-9", make_user(*target, "dave@example.com").id);
        auto before = exported(*target);
        CHECK_FALSE(target->import_snapshot(*rows, import_mode::replace));
        CHECK(exported(*target) == before);
    }
}

TEST_CASE("copy_store: SQLite file to SQLite file, counts, and what it refuses")
{
    temp_dir dir;
    captured_log log;
    auto const from = dir.file("from.db");
    auto const to = dir.file("to.db");
    {
        auto s = open_or_fail(from, log.get());
        populate(*s);
    }
    store_options options;
    options.log = log.get();

    auto copied = copy_store(from, to, {}, options);
    REQUIRE(copied);
    CHECK(copied->users == 3);
    CHECK(copied->refresh_tokens == 3);
    CHECK(copied->reset_tokens == 2);
    CHECK(copied->devices == 2);
    CHECK(copied->memberships == 5);
    CHECK(copied->sessions == 4);
    CHECK(exported(*open_or_fail(to, log.get())) == exported(*open_or_fail(from, log.get())));

    auto occupied = copy_store(from, to, {}, options);
    REQUIRE_FALSE(occupied);
    CHECK(occupied.error().code == errc::forbidden);
    CHECK(occupied.error().message.find("the target " + to) != std::string::npos);
    CHECK(copy_store(from, to, copy_options{import_mode::replace}, options));

    // A missing source is named and not created.
    auto missing = copy_store(dir.file("missing.db"), dir.file("other.db"), {}, options);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("cannot open the source " + dir.file("missing.db")) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));
    CHECK_FALSE(std::filesystem::exists(dir.file("other.db")));

    auto to_dir = copy_store(from, dir.file("no/such/dir/x.db"), {}, options);
    REQUIRE_FALSE(to_dir);
    CHECK(to_dir.error().message.find("cannot open the target") != std::string::npos);

    CHECK_FALSE(copy_store(":memory:", to, {}, options));
    CHECK_FALSE(copy_store(from, ":memory:", {}, options));
    CHECK_FALSE(copy_store(from, from, copy_options{import_mode::replace}, options));

    // A URL's password is never in a message (nothing listens on port 1).
    options.connect_timeout = std::chrono::milliseconds(500);
    auto url = copy_store(from, "postgresql://relay:hunter2@127.0.0.1:1/relay?password=hunter3&sslmode=disable", {},
                          options);
    REQUIRE_FALSE(url);
    CHECK(url.error().message.find("cannot open the target postgresql://relay:***@127.0.0.1:1/relay") !=
          std::string::npos);
    CHECK(url.error().message.find("hunter") == std::string::npos);
}
