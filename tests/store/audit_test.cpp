// The audit trail and account deletion, on every backend.
#include "store/store_fixture.hpp"

#include <string>
#include <vector>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

audit_entry entry(std::int64_t at_ms, std::string actor, std::string action,
                  std::optional<std::string> device_id = std::nullopt,
                  std::optional<std::string> target = std::nullopt)
{
    audit_entry e;
    e.at_ms = at_ms;
    e.actor = std::move(actor);
    e.action = std::move(action);
    e.device_id = std::move(device_id);
    e.target_user_id = std::move(target);
    e.client_address = "192.0.2.7";
    e.detail = R"({"k":"v"})";
    return e;
}

/** The actions of a list, in its order. */
std::vector<std::string> actions(result<std::vector<audit_entry>> const& r)
{
    REQUIRE(r);
    std::vector<std::string> out;
    for (auto const& e : *r)
        out.push_back(e.action);
    return out;
}

audit_query by_device(std::string id)
{
    audit_query q;
    q.device_id = std::move(id);
    return q;
}

audit_query by_user(std::string id)
{
    audit_query q;
    q.user_id = std::move(id);
    return q;
}

} // namespace

RELAY_STORE_TEST("audit: entries read back per device and per user, newest first, in pages")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    REQUIRE(s->insert_audit(entry(1000, "u-alice", "auth.login")));
    REQUIRE(s->insert_audit(entry(2000, "u-alice", "device.added", "d1")));
    REQUIRE(s->insert_audit(entry(3000, "u-alice", "member.added", "d1", "u-bob")));
    REQUIRE(s->insert_audit(entry(4000, "u-bob", "device.added", "d2")));
    REQUIRE(s->insert_audit(entry(5000, "", "auth.login_failed")));
    REQUIRE(s->insert_audit(entry(6000, "u-alice", "device.renamed", "d1")));

    auto all = s->list_audit({});
    REQUIRE(all);
    REQUIRE(all->size() == 6);
    auto const& newest = all->front();
    CHECK(newest.action == "device.renamed");
    CHECK(newest.at_ms == 6000);
    CHECK(newest.actor == "u-alice");
    CHECK(newest.device_id == "d1");
    CHECK_FALSE(newest.target_user_id);
    CHECK(newest.client_address == "192.0.2.7");
    CHECK(newest.detail == R"({"k":"v"})");
    CHECK((*all)[0].id > (*all)[1].id);
    CHECK((*all)[1].actor.empty());

    CHECK(actions(s->list_audit(by_device("d1"))) ==
          std::vector<std::string>{"device.renamed", "member.added", "device.added"});
    CHECK(actions(s->list_audit(by_device("d3"))).empty());
    // A user's trail: what they did and what was done to them.
    CHECK(actions(s->list_audit(by_user("u-bob"))) == std::vector<std::string>{"device.added", "member.added"});
    CHECK(actions(s->list_audit(by_user("u-alice"))) ==
          std::vector<std::string>{"device.renamed", "member.added", "device.added", "auth.login"});
    auto both = by_device("d1");
    both.user_id = "u-bob";
    CHECK(actions(s->list_audit(both)) == std::vector<std::string>{"member.added"});

    SUBCASE("pages: limit, then before the last id seen")
    {
        auto q = by_user("u-alice");
        q.limit = 3;
        auto first = s->list_audit(q);
        REQUIRE(first);
        REQUIRE(first->size() == 3);
        q.before_id = first->back().id;
        CHECK(actions(s->list_audit(q)) == std::vector<std::string>{"auth.login"});
        q.before_id = (*s->list_audit(q)).back().id;
        CHECK(actions(s->list_audit(q)).empty());

        audit_query everything;
        everything.limit = 2;
        everything.before_id = (*all)[1].id;
        CHECK(actions(s->list_audit(everything)) == std::vector<std::string>{"device.added", "member.added"});
    }
    SUBCASE("since")
    {
        audit_query q;
        q.since_ms = 4000;
        CHECK(actions(s->list_audit(q)) ==
              std::vector<std::string>{"device.renamed", "auth.login_failed", "device.added"});
        auto d = by_device("d1");
        d.since_ms = 2500;
        CHECK(actions(s->list_audit(d)) == std::vector<std::string>{"device.renamed", "member.added"});
        auto u = by_user("u-alice");
        u.since_ms = 6000;
        CHECK(actions(s->list_audit(u)) == std::vector<std::string>{"device.renamed"});
    }
}

RELAY_STORE_TEST("audit: pruning deletes what is older than the cut, and ids keep growing")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    REQUIRE(s->insert_audit(entry(1000, "u", "auth.login")));
    REQUIRE(s->insert_audit(entry(2000, "u", "auth.login")));
    REQUIRE(s->insert_audit(entry(3000, "u", "auth.login_failed")));
    auto last = s->list_audit({});
    REQUIRE(last);
    auto const last_id = last->front().id;

    auto pruned = s->prune_audit(2001);
    REQUIRE(pruned);
    CHECK(*pruned == 2);
    CHECK(actions(s->list_audit({})) == std::vector<std::string>{"auth.login_failed"});
    CHECK(*s->prune_audit(2001) == 0);

    REQUIRE(s->prune_audit(1'000'000));
    CHECK(actions(s->list_audit({})).empty());
    REQUIRE(s->insert_audit(entry(4000, "u", "auth.login")));
    // A cursor taken before pruning never names a newer entry.
    CHECK(s->list_audit({})->front().id > last_id);
}

RELAY_STORE_TEST("delete_user: the account, its devices, memberships, sessions and tokens go; its trail stays")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);
    make_device(*s, "alice-robot", alice.id);
    make_device(*s, "bob-robot", bob.id);
    REQUIRE(s->add_member("alice-robot", bob.id, role::operator_));
    REQUIRE(s->add_member("bob-robot", alice.id, role::viewer));
    REQUIRE(s->insert_session(started("s-alice-on-bob", "bob-robot", alice.id, 100)));
    REQUIRE(s->insert_session(started("s-bob-on-bob", "bob-robot", bob.id, 101)));
    REQUIRE(s->insert_refresh_token({"rt-alice", "fam-a", alice.id, 100, 100'000}));
    REQUIRE(s->insert_refresh_token({"rt-bob", "fam-b", bob.id, 100, 100'000}));
    REQUIRE(s->insert_reset_token({"reset-alice", alice.id, 100'000}));
    REQUIRE(s->insert_audit(entry(1000, alice.id, "device.added", "alice-robot")));

    auto deleted = s->delete_user(alice.id);
    REQUIRE(deleted);
    CHECK(deleted->account.email == "alice@example.com");
    REQUIRE(deleted->devices.size() == 1);
    CHECK(deleted->devices[0].device_id == "alice-robot");
    CHECK(deleted->devices[0].user_ids == std::vector<std::string>{alice.id, bob.id}); // owner first
    CHECK(deleted->shared_devices == std::vector<std::string>{"bob-robot"});

    CHECK(s->find_user_by_id(alice.id).error() == errc::user_not_found);
    CHECK(s->find_user_by_email("alice@example.com").error() == errc::user_not_found);
    CHECK(s->get_device("alice-robot").error() == errc::device_not_found);
    CHECK(s->consume_refresh_token("rt-alice", 200).error() == errc::unauthorized);
    CHECK(s->consume_reset_token("reset-alice", 200).error() == errc::invalid_token);
    // Bob keeps his device, without Alice; his own session stays, hers is gone.
    auto members = s->list_members("bob-robot");
    REQUIRE(members);
    REQUIRE(members->size() == 1);
    CHECK(members->front().user_id == bob.id);
    auto sessions = s->list_sessions("bob-robot", 10);
    REQUIRE(sessions);
    REQUIRE(sessions->size() == 1);
    CHECK(sessions->front().session_id == "s-bob-on-bob");
    CHECK(s->list_devices_for_user(bob.id)->size() == 1);
    CHECK(s->consume_refresh_token("rt-bob", 200));
    // The trail is the operator's: it stays until retention prunes it.
    CHECK(actions(s->list_audit(by_user(alice.id))) == std::vector<std::string>{"device.added"});
    // The email is free for a new account.
    CHECK(s->create_user("alice@example.com", "h", 2000));

    CHECK(s->delete_user(alice.id).error() == errc::user_not_found);
}
