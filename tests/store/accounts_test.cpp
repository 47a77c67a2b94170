// Users, refresh tokens and password-reset tokens, on every backend.
#include "store/store_fixture.hpp"

#include <type_traits>

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

namespace {

refresh_token token(std::string hash, std::string family, std::string user_id, unix_seconds issued = 1000,
                    unix_seconds expires = 5000)
{
    return refresh_token{std::move(hash), std::move(family), std::move(user_id), issued, expires, false, false};
}

} // namespace

RELAY_STORE_TEST("users: create, find, list, change password")
{
    auto&& [dir, log, s] = fresh_store<backend>{};

    auto alice = s->create_user("alice@example.com", "h1", 1000);
    REQUIRE(alice);
    CHECK(alice->id.size() == 2 + 32);
    CHECK(alice->id.starts_with("u_"));
    CHECK(alice->id.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
    CHECK(alice->email == "alice@example.com");
    CHECK(alice->password_hash == "h1");
    CHECK(alice->created_at == 1000);

    auto bob = make_user(*s, "bob@example.com", 1001);
    CHECK(bob.id != alice->id);

    auto by_email = s->find_user_by_email("alice@example.com");
    REQUIRE(by_email);
    CHECK(by_email->id == alice->id);
    CHECK(by_email->password_hash == "h1");
    CHECK(by_email->created_at == 1000);

    auto by_id = s->find_user_by_id(bob.id);
    REQUIRE(by_id);
    CHECK(by_id->email == "bob@example.com");

    auto all = s->list_users();
    REQUIRE(all);
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].id == alice->id);
    CHECK((*all)[1].id == bob.id);

    REQUIRE(s->set_password_hash(alice->id, "h2"));
    CHECK(s->find_user_by_id(alice->id)->password_hash == "h2");
    CHECK(s->find_user_by_id(bob.id)->password_hash == "hash-of-bob@example.com");

    SUBCASE("errors")
    {
        CHECK(s->create_user("alice@example.com", "other", 2000).error() == errc::email_taken);
        CHECK(s->find_user_by_email("nobody@example.com").error() == errc::user_not_found);
        CHECK(s->find_user_by_id("u_nobody").error() == errc::user_not_found);
        CHECK(s->set_password_hash("u_nobody", "h").error() == errc::user_not_found);
        // the failed duplicate left nothing behind
        CHECK(s->list_users()->size() == 2);
        CHECK(s->find_user_by_email("alice@example.com")->password_hash == "h2");
    }
}

RELAY_STORE_TEST("refresh tokens: rotation, reuse detection, revocation")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);

    REQUIRE(s->insert_refresh_token(token("t1", "f1", alice.id)));

    SUBCASE("a valid token rotates once; presenting it again revokes the family")
    {
        auto first = s->consume_refresh_token("t1", 2000);
        REQUIRE(first);
        CHECK(first->outcome == refresh_outcome::rotated);
        CHECK(first->user_id == alice.id);
        CHECK(first->family_id == "f1");

        // the next token of the same login
        REQUIRE(s->insert_refresh_token(token("t2", "f1", alice.id, 2000, 6000)));

        auto reused = s->consume_refresh_token("t1", 2100);
        REQUIRE(reused);
        CHECK(reused->outcome == refresh_outcome::reuse_detected);
        CHECK(reused->user_id == alice.id);
        CHECK(reused->family_id == "f1");

        // the legitimate newer token died with its family, and the old one stays dead
        CHECK(s->consume_refresh_token("t2", 2200).error() == errc::unauthorized);
        CHECK(s->consume_refresh_token("t1", 2300).error() == errc::unauthorized);
        // a rotation racing with the revocation cannot revive the family
        CHECK(s->insert_refresh_token(token("t3", "f1", alice.id, 2300)).error() == errc::unauthorized);
    }

    SUBCASE("reuse revokes only that family")
    {
        REQUIRE(s->insert_refresh_token(token("other", "f2", alice.id)));
        REQUIRE(s->consume_refresh_token("t1", 2000));
        CHECK(s->consume_refresh_token("t1", 2000)->outcome == refresh_outcome::reuse_detected);
        auto other = s->consume_refresh_token("other", 2000);
        REQUIRE(other);
        CHECK(other->outcome == refresh_outcome::rotated);
    }

    SUBCASE("unknown and expired tokens are unauthorized")
    {
        CHECK(s->consume_refresh_token("nope", 2000).error() == errc::unauthorized);
        CHECK(s->consume_refresh_token("t1", 5000).error() == errc::unauthorized); // expires_at is exclusive
        CHECK(s->consume_refresh_token("t1", 9000).error() == errc::unauthorized);
        // an expired token is not "used": it stays unusable without revoking anything
        REQUIRE(s->insert_refresh_token(token("t2", "f1", alice.id, 1000, 99999)));
        CHECK(s->consume_refresh_token("t2", 9000)->outcome == refresh_outcome::rotated);
    }

    SUBCASE("logout revokes one token and is idempotent")
    {
        REQUIRE(s->insert_refresh_token(token("t2", "f2", alice.id)));
        auto ended = s->revoke_refresh_token("t1");
        REQUIRE(ended);
        REQUIRE(*ended);
        CHECK((*ended)->user_id == alice.id);
        CHECK((*ended)->family_id == "f1");
        REQUIRE(s->revoke_refresh_token("t1"));
        auto unknown = s->revoke_refresh_token("never-issued");
        REQUIRE(unknown);
        CHECK(!*unknown);
        CHECK(s->consume_refresh_token("t1", 2000).error() == errc::unauthorized);
        CHECK(s->consume_refresh_token("t2", 2000)->outcome == refresh_outcome::rotated);
    }

    SUBCASE("revoke_family")
    {
        REQUIRE(s->consume_refresh_token("t1", 1500));
        REQUIRE(s->insert_refresh_token(token("t2", "f1", alice.id, 1500)));
        REQUIRE(s->insert_refresh_token(token("g1", "f2", alice.id)));
        REQUIRE(s->revoke_family("f1"));
        CHECK(s->consume_refresh_token("t2", 2000).error() == errc::unauthorized);
        CHECK(s->consume_refresh_token("g1", 2000)->outcome == refresh_outcome::rotated);
        REQUIRE(s->revoke_family("no-such-family"));
    }

    SUBCASE("revoke_all_refresh_tokens touches only that user")
    {
        REQUIRE(s->insert_refresh_token(token("a2", "f2", alice.id)));
        REQUIRE(s->insert_refresh_token(token("b1", "f3", bob.id)));
        REQUIRE(s->revoke_all_refresh_tokens(alice.id));
        CHECK(s->consume_refresh_token("t1", 2000).error() == errc::unauthorized);
        CHECK(s->consume_refresh_token("a2", 2000).error() == errc::unauthorized);
        CHECK(s->consume_refresh_token("b1", 2000)->outcome == refresh_outcome::rotated);
    }

    SUBCASE("insert errors")
    {
        CHECK(s->insert_refresh_token(token("x", "fx", "u_nobody")).error() == errc::user_not_found);
        // the raw token is random, so a repeated hash is a caller bug, reported and logged
        CHECK(s->insert_refresh_token(token("t1", "f9", alice.id)).error() == errc::internal);
        CHECK(log.text().find(backend::failure_event) != std::string::npos);
        CHECK(log.text().find(backend::duplicate_key) != std::string::npos);
    }

    SUBCASE("flags in the record are ignored: a new token is neither used nor revoked")
    {
        auto t = token("fresh", "f5", alice.id);
        t.used = true;
        t.revoked = true;
        REQUIRE(s->insert_refresh_token(t));
        CHECK(s->consume_refresh_token("fresh", 2000)->outcome == refresh_outcome::rotated);
    }

    SUBCASE("expired tokens are purged")
    {
        // t1 expires at 5000; a later call with a later clock deletes it, so the same hash can be
        // stored again (while it exists, a repeated hash is refused).
        CHECK(s->insert_refresh_token(token("t1", "f1", alice.id, 1000)).error() == errc::internal);
        CHECK(s->consume_refresh_token("unknown", 6000).error() == errc::unauthorized);
        REQUIRE(s->insert_refresh_token(token("t1", "f7", alice.id, 6000, 9000)));
        auto again = s->consume_refresh_token("t1", 7000);
        REQUIRE(again);
        CHECK(again->family_id == "f7");
    }
}

RELAY_STORE_TEST("password-reset tokens: single use, expiry")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);

    REQUIRE(s->insert_reset_token(reset_token{"r1", alice.id, 5000, false}));

    SUBCASE("used once")
    {
        auto used = s->consume_reset_token("r1", 2000);
        REQUIRE(used);
        CHECK(*used == alice.id);
        CHECK(s->consume_reset_token("r1", 2001).error() == errc::invalid_token);
    }

    SUBCASE("expired, unknown")
    {
        CHECK(s->consume_reset_token("r1", 5000).error() == errc::invalid_token);
        CHECK(s->consume_reset_token("r1", 4000).error() == errc::invalid_token); // purged at 5000
        CHECK(s->consume_reset_token("never", 2000).error() == errc::invalid_token);
    }

    SUBCASE("using one of a user's tokens voids the user's others, not other users'")
    {
        REQUIRE(s->insert_reset_token(reset_token{"r2", alice.id, 5000, false}));
        REQUIRE(s->insert_reset_token(reset_token{"b1", bob.id, 5000, false}));
        CHECK(*s->consume_reset_token("r2", 2000) == alice.id);
        CHECK(s->consume_reset_token("r1", 2000).error() == errc::invalid_token);
        CHECK(*s->consume_reset_token("b1", 2000) == bob.id);
    }

    SUBCASE("a token stored as used is still usable once: the flag is ignored on insert")
    {
        REQUIRE(s->insert_reset_token(reset_token{"r3", bob.id, 5000, true}));
        CHECK(*s->consume_reset_token("r3", 2000) == bob.id);
    }

    SUBCASE("unknown user")
    {
        CHECK(s->insert_reset_token(reset_token{"x", "u_nobody", 5000, false}).error() == errc::user_not_found);
    }
}

TEST_CASE("roles: the store's role is the protocol's, with its names and order")
{
    static_assert(std::is_same_v<role, relay::protocol::role>);
    CHECK(to_string(role::viewer) == "viewer");
    CHECK(to_string(role::operator_) == "operator");
    CHECK(to_string(role::owner) == "owner");
    for (auto r : {role::viewer, role::operator_, role::owner})
        CHECK(relay::protocol::from_string<role>(to_string(r)) == r);
    CHECK(!relay::protocol::from_string<role>("admin"));
    CHECK(!relay::protocol::from_string<role>("Owner"));
    CHECK(role_allows(role::owner, role::operator_));
    CHECK(role_allows(role::operator_, role::operator_));
    CHECK(role_allows(role::operator_, role::viewer));
    CHECK(!role_allows(role::viewer, role::operator_));
    CHECK(!role_allows(role::operator_, role::owner));
}
