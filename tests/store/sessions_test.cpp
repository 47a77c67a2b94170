// WebRTC session history, on every backend.
#include "store/store_fixture.hpp"

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

RELAY_STORE_TEST("sessions: start, connect, end, list")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto alice = make_user(*s, "alice@example.com");
    make_device(*s, "d1", alice.id);
    make_device(*s, "d2", alice.id);

    REQUIRE(s->insert_session(started("s1", "d1", alice.id, 100)));

    auto listed = s->list_sessions("d1", 10);
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    auto const& fresh = (*listed)[0];
    CHECK(fresh.session_id == "s1");
    CHECK(fresh.device_id == "d1");
    CHECK(fresh.user_id == alice.id);
    CHECK(fresh.started_at == 100);
    CHECK(!fresh.connected_at);
    CHECK(!fresh.ended_at);
    CHECK(!fresh.connection_type);
    CHECK(!fresh.end_reason);
    CHECK(!fresh.rtt_ms);

    REQUIRE(s->mark_session_connected("s1", 103, "relay", 42));
    // the other end reports later, without a round-trip time
    REQUIRE(s->mark_session_connected("s1", 105, "srflx"));
    auto connected = s->list_sessions("d1", 10)->at(0);
    CHECK(connected.connected_at == 103);
    CHECK(connected.connection_type == "srflx");
    CHECK(connected.rtt_ms == 42);
    REQUIRE(s->mark_session_connected("s1", 106, "srflx", 17));
    CHECK(s->list_sessions("d1", 10)->at(0).rtt_ms == 17);

    REQUIRE(s->end_session("s1", 200, "app_closed"));
    // both ends may say so; the first end stands
    REQUIRE(s->end_session("s1", 250, "robot_closed"));
    auto ended = s->list_sessions("d1", 10)->at(0);
    CHECK(ended.ended_at == 200);
    CHECK(ended.end_reason == "app_closed");
    CHECK(ended.connected_at == 103);

    SUBCASE("newest first, limited, per device")
    {
        REQUIRE(s->insert_session(started("s2", "d1", alice.id, 300)));
        REQUIRE(s->insert_session(started("s3", "d1", alice.id, 200)));
        REQUIRE(s->insert_session(started("s4", "d2", alice.id, 400)));
        auto all = s->list_sessions("d1", 10);
        REQUIRE(all);
        REQUIRE(all->size() == 3);
        CHECK((*all)[0].session_id == "s2");
        CHECK((*all)[1].session_id == "s3");
        CHECK((*all)[2].session_id == "s1");
        auto two = s->list_sessions("d1", 2);
        REQUIRE(two->size() == 2);
        CHECK((*two)[1].session_id == "s3");
        CHECK(s->list_sessions("d1", 0)->empty());
        CHECK(s->list_sessions("d2", static_cast<std::size_t>(-1))->size() == 1);
        CHECK(s->list_sessions("nope", 10)->empty());
    }

    SUBCASE("one user's sessions: newest first, limited, per device")
    {
        auto bob = make_user(*s, "bob@example.com");
        REQUIRE(s->add_member("d1", bob.id, role::viewer));
        REQUIRE(s->insert_session(started("s2", "d1", bob.id, 300)));
        REQUIRE(s->insert_session(started("s3", "d1", alice.id, 250)));
        REQUIRE(s->insert_session(started("s4", "d1", bob.id, 200)));
        REQUIRE(s->insert_session(started("s5", "d2", alice.id, 400)));
        auto bobs = s->list_user_sessions("d1", bob.id, 10);
        REQUIRE(bobs);
        REQUIRE(bobs->size() == 2);
        CHECK((*bobs)[0].session_id == "s2");
        CHECK((*bobs)[1].session_id == "s4");
        auto alices = s->list_user_sessions("d1", alice.id, 10);
        REQUIRE(alices);
        REQUIRE(alices->size() == 2);
        CHECK((*alices)[0].session_id == "s3");
        CHECK((*alices)[1].session_id == "s1");
        CHECK((*alices)[1].end_reason == "app_closed");
        REQUIRE(s->list_user_sessions("d1", bob.id, 1)->size() == 1);
        CHECK(s->list_user_sessions("d1", bob.id, 1)->at(0).session_id == "s2");
        CHECK(s->list_user_sessions("d1", bob.id, 0)->empty());
        CHECK(s->list_user_sessions("d2", bob.id, 10)->empty());
        CHECK(s->list_user_sessions("nope", alice.id, 10)->empty());
        // The interface's own version (for stores without a query of their own) agrees.
        for (std::size_t limit : {0, 1, 2, 10}) {
            CAPTURE(limit);
            auto filtered = s->store::list_user_sessions("d1", bob.id, limit);
            auto queried = s->list_user_sessions("d1", bob.id, limit);
            REQUIRE(filtered);
            REQUIRE(filtered->size() == queried->size());
            for (std::size_t i = 0; i < filtered->size(); ++i)
                CHECK((*filtered)[i].session_id == (*queried)[i].session_id);
        }
    }

    SUBCASE("a complete record can be inserted as is")
    {
        webrtc_session full{"s9", "d2", alice.id, 10, 11, 20, std::string("host"), std::string("timeout"), 5};
        REQUIRE(s->insert_session(full));
        auto got = s->list_sessions("d2", 1)->at(0);
        CHECK(got.connected_at == 11);
        CHECK(got.ended_at == 20);
        CHECK(got.connection_type == "host");
        CHECK(got.end_reason == "timeout");
        CHECK(got.rtt_ms == 5);
    }

    SUBCASE("crash recovery ends every open session once")
    {
        REQUIRE(s->insert_session(started("s2", "d1", alice.id, 300)));
        REQUIRE(s->insert_session(started("s3", "d2", alice.id, 300)));
        REQUIRE(s->mark_session_connected("s3", 301, "host"));
        auto n = s->end_open_sessions(1000, "relay_restart");
        REQUIRE(n);
        CHECK(*n == 2);
        CHECK(s->list_sessions("d1", 10)->at(0).end_reason == "relay_restart");
        CHECK(s->list_sessions("d1", 10)->at(0).ended_at == 1000);
        CHECK(s->list_sessions("d2", 10)->at(0).end_reason == "relay_restart");
        // s1 had ended before and keeps its own end
        CHECK(s->list_sessions("d1", 10)->at(1).end_reason == "app_closed");
        CHECK(s->end_open_sessions(2000, "relay_restart").value() == 0);
    }

    SUBCASE("errors")
    {
        CHECK(s->insert_session(started("x", "nope", alice.id, 1)).error() == errc::device_not_found);
        CHECK(s->insert_session(started("x", "d1", "u_nobody", 1)).error() == errc::user_not_found);
        CHECK(s->list_sessions("d1", 10)->size() == 1);
        CHECK(s->mark_session_connected("nope", 1, "host").error() == errc::session_not_found);
        CHECK(s->end_session("nope", 1, "x").error() == errc::session_not_found);
        // a repeated session id is a caller bug (ids are random)
        CHECK(s->insert_session(started("s1", "d1", alice.id, 1)).error() == errc::internal);
    }
}
