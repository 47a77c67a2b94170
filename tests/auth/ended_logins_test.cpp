#include <relay/auth/ended_logins.hpp>

#include <doctest/doctest.h>

#include <stdexcept>

using namespace relay::auth;
using namespace std::chrono_literals;

namespace {

ended_logins::clock::time_point const t0{std::chrono::seconds(1'800'000'000)};

jwt_claims token_of(std::string user, std::string sid, ended_logins::clock::time_point issued)
{
    auto c = make_claims(std::move(user), issued, 900s);
    c.sid = std::move(sid);
    return c;
}

} // namespace

TEST_CASE("a logout refuses that login's tokens only, until they could have expired anyway")
{
    ended_logins ended(931s);
    auto phone = token_of("u1", "f_phone", t0);
    auto laptop = token_of("u1", "f_laptop", t0);
    CHECK_FALSE(ended.covers(phone, t0));
    ended.end_login("f_phone", t0 + 10s);
    CHECK(ended.covers(phone, t0 + 10s));
    CHECK(ended.covers(token_of("u1", "f_phone", t0 + 5s), t0 + 900s)); // a refresh of that login
    CHECK_FALSE(ended.covers(laptop, t0 + 10s));
    // Past the time any token of the login can verify, the end is forgotten.
    CHECK_FALSE(ended.covers(phone, t0 + 10s + 931s));
    ended.end_login("f_other", t0 + 10s + 932s);
    CHECK(ended.size() == 1);
    // A token without a login names nothing to end.
    ended.end_login("", t0);
    CHECK(ended.size() == 1);
}

TEST_CASE("ending every login of a user refuses their tokens of earlier seconds, not new logins or other users")
{
    ended_logins ended(931s);
    auto before = token_of("u1", "f_a", t0);
    auto legacy = token_of("u1", "", t0); // minted before tokens named their login
    auto a_second_before = token_of("u1", "f_b", t0 + 59s + 900ms);
    auto other_user = token_of("u2", "f_c", t0);
    ended.end_all("u1", t0 + 60s + 400ms);
    CHECK(ended.covers(before, t0 + 61s));
    CHECK(ended.covers(legacy, t0 + 61s));
    CHECK(ended.covers(a_second_before, t0 + 61s));
    CHECK_FALSE(ended.covers(other_user, t0 + 61s));
    // Logged in again at once, within the same second: served (iat has whole seconds).
    CHECK_FALSE(ended.covers(token_of("u1", "f_new", t0 + 60s + 700ms), t0 + 61s));
    CHECK_FALSE(ended.covers(before, t0 + 60s + 931s + 1s));
    // A login ended by its sid is refused whatever the second of its token.
    ended.end_login("f_same", t0 + 60s + 400ms);
    CHECK(ended.covers(token_of("u1", "f_same", t0 + 60s + 300ms), t0 + 61s));
}

TEST_CASE("ended logins need a positive time to remember them")
{
    CHECK_THROWS_AS(ended_logins(0s), std::invalid_argument);
}
