// Devices and members, on every backend.
#include "store/store_fixture.hpp"

using namespace relay::store;
using relay::errc;
using namespace relay::store::test;

RELAY_STORE_TEST("devices: create with an owner, read, list")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);

    device d;
    d.device_id = "wimz-001";
    d.name = "Kitchen";
    d.secret_sealed = "sealed-secret";
    d.created_at = 1234;
    d.last_seen = 1300;
    d.capabilities = R"({"camera":true})";
    d.firmware = "1.2.3";
    REQUIRE(s->create_device(d, alice.id));

    auto got = s->get_device("wimz-001");
    REQUIRE(got);
    CHECK(got->device_id == "wimz-001");
    CHECK(got->name == "Kitchen");
    CHECK(got->secret_sealed == "sealed-secret");
    CHECK(got->created_at == 1234);
    CHECK(got->last_seen == 1300);
    CHECK(got->capabilities == R"({"camera":true})");
    CHECK(got->firmware == "1.2.3");

    CHECK(s->role_of(alice.id, "wimz-001").value() == role::owner);
    CHECK(s->role_of(bob.id, "wimz-001").value() == std::nullopt);
    CHECK(s->role_of(alice.id, "no-such-device").value() == std::nullopt);
    CHECK(s->role_of("u_nobody", "wimz-001").value() == std::nullopt);

    // a device with nothing optional
    make_device(*s, "aaa-002", bob.id, "Attic");
    auto bare = s->get_device("aaa-002");
    REQUIRE(bare);
    CHECK(!bare->last_seen);
    CHECK(bare->capabilities.empty());
    CHECK(!bare->firmware);

    make_device(*s, "zzz-003", alice.id, "Attic");
    REQUIRE(s->add_member("aaa-002", alice.id, role::viewer));

    auto mine = s->list_devices_for_user(alice.id);
    REQUIRE(mine);
    REQUIRE(mine->size() == 3);
    // ordered by name, then id
    CHECK((*mine)[0].device.device_id == "aaa-002");
    CHECK((*mine)[0].access == role::viewer);
    CHECK((*mine)[1].device.device_id == "zzz-003");
    CHECK((*mine)[1].access == role::owner);
    CHECK((*mine)[2].device.device_id == "wimz-001");
    CHECK((*mine)[2].device.name == "Kitchen");
    CHECK((*mine)[2].device.firmware == "1.2.3");
    CHECK((*mine)[2].access == role::owner);

    auto bobs = s->list_devices_for_user(bob.id);
    REQUIRE(bobs);
    REQUIRE(bobs->size() == 1);
    CHECK((*bobs)[0].device.device_id == "aaa-002");
    CHECK(s->list_devices_for_user("u_nobody")->empty());

    auto all = s->list_devices();
    REQUIRE(all);
    REQUIRE(all->size() == 3);
    CHECK((*all)[0].device_id == "aaa-002");
    CHECK((*all)[1].device_id == "wimz-001");
    CHECK((*all)[2].device_id == "zzz-003");

    SUBCASE("a taken id is DEVICE_EXISTS and changes nothing")
    {
        device again = d;
        again.name = "Impostor";
        CHECK(s->create_device(again, bob.id).error() == errc::device_exists);
        CHECK(s->get_device("wimz-001")->name == "Kitchen");
        CHECK(s->role_of(bob.id, "wimz-001").value() == std::nullopt);
        CHECK(s->role_of(alice.id, "wimz-001").value() == role::owner);
    }

    SUBCASE("an unknown owner creates nothing")
    {
        device orphan;
        orphan.device_id = "orphan";
        orphan.name = "Nobody's";
        orphan.secret_sealed = "x";
        CHECK(s->create_device(orphan, "u_nobody").error() == errc::user_not_found);
        CHECK(s->get_device("orphan").error() == errc::device_not_found);
        CHECK(s->list_devices()->size() == 3);
    }

    SUBCASE("unknown device")
    {
        CHECK(s->get_device("nope").error() == errc::device_not_found);
        CHECK(s->rename_device("nope", "x").error() == errc::device_not_found);
        CHECK(s->set_device_secret("nope", "x").error() == errc::device_not_found);
        CHECK(s->record_device_seen("nope", 1).error() == errc::device_not_found);
        CHECK(s->delete_device("nope").error() == errc::device_not_found);
    }
}

RELAY_STORE_TEST("devices: rename, secret, seen, delete")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto [alice, bob] = alice_and_bob(*s);
    make_device(*s, "d1", alice.id, "Before");
    make_device(*s, "d2", alice.id, "Other");

    REQUIRE(s->rename_device("d1", "After"));
    CHECK(s->get_device("d1")->name == "After");
    CHECK(s->get_device("d2")->name == "Other");

    REQUIRE(s->set_device_secret("d1", "sealed-2"));
    CHECK(s->get_device("d1")->secret_sealed == "sealed-2");
    CHECK(s->get_device("d2")->secret_sealed == "sealed:d2");

    REQUIRE(s->record_device_seen("d1", 5000, std::string_view(R"({"arm":1})"), std::string_view("2.0")));
    auto seen = s->get_device("d1");
    CHECK(seen->last_seen == 5000);
    CHECK(seen->capabilities == R"({"arm":1})");
    CHECK(seen->firmware == "2.0");

    // saying nothing new erases nothing
    REQUIRE(s->record_device_seen("d1", 6000));
    seen = s->get_device("d1");
    CHECK(seen->last_seen == 6000);
    CHECK(seen->capabilities == R"({"arm":1})");
    CHECK(seen->firmware == "2.0");

    // an empty capabilities object is a value, not "unchanged"
    REQUIRE(s->record_device_seen("d1", 7000, std::string_view(""), std::nullopt));
    seen = s->get_device("d1");
    CHECK(seen->capabilities.empty());
    CHECK(seen->firmware == "2.0");
    CHECK(!s->get_device("d2")->last_seen);

    SUBCASE("delete takes memberships and history with it")
    {
        REQUIRE(s->add_member("d1", bob.id, role::operator_));
        REQUIRE(s->insert_session(webrtc_session{"s1", "d1", bob.id, 100, {}, {}, {}, {}, {}}));
        REQUIRE(s->insert_session(webrtc_session{"s2", "d2", bob.id, 100, {}, {}, {}, {}, {}}));

        REQUIRE(s->delete_device("d1"));
        CHECK(s->get_device("d1").error() == errc::device_not_found);
        CHECK(s->role_of(alice.id, "d1").value() == std::nullopt);
        CHECK(s->role_of(bob.id, "d1").value() == std::nullopt);
        CHECK(s->list_devices_for_user(bob.id)->empty());
        CHECK(s->list_sessions("d1", 10)->empty());
        CHECK(s->end_session("s1", 200, "gone").error() == errc::session_not_found);
        CHECK(s->delete_device("d1").error() == errc::device_not_found);

        // the other device is untouched
        CHECK(s->list_sessions("d2", 10)->size() == 1);
        CHECK(s->role_of(alice.id, "d2").value() == role::owner);

        // the id can be registered again, by someone else, with a clean slate
        make_device(*s, "d1", bob.id, "New");
        CHECK(s->role_of(bob.id, "d1").value() == role::owner);
        CHECK(s->role_of(alice.id, "d1").value() == std::nullopt);
        CHECK(s->list_members("d1")->size() == 1);
        CHECK(s->list_sessions("d1", 10)->empty());
    }
}

RELAY_STORE_TEST("members: share, change role, unshare, owner protections")
{
    auto&& [dir, log, s] = fresh_store<backend>{};
    auto owner = make_user(*s, "owner@example.com");
    auto viewer = make_user(*s, "viewer@example.com");
    auto op = make_user(*s, "aaa-operator@example.com");
    make_device(*s, "d1", owner.id);
    make_device(*s, "d2", viewer.id);

    REQUIRE(s->add_member("d1", viewer.id, role::viewer));
    REQUIRE(s->add_member("d1", op.id, role::viewer));
    REQUIRE(s->add_member("d1", op.id, role::operator_)); // upsert: a second call changes the role
    CHECK(s->role_of(viewer.id, "d1").value() == role::viewer);
    CHECK(s->role_of(op.id, "d1").value() == role::operator_);

    auto members = s->list_members("d1");
    REQUIRE(members);
    REQUIRE(members->size() == 3);
    // owner first, then by role, then by email
    CHECK((*members)[0].user_id == owner.id);
    CHECK((*members)[0].email == "owner@example.com");
    CHECK((*members)[0].access == role::owner);
    CHECK((*members)[1].user_id == op.id);
    CHECK((*members)[1].email == "aaa-operator@example.com");
    CHECK((*members)[1].access == role::operator_);
    CHECK((*members)[2].user_id == viewer.id);
    CHECK((*members)[2].access == role::viewer);

    auto access = s->users_with_access("d1");
    REQUIRE(access);
    REQUIRE(access->size() == 3);
    CHECK((*access)[0].user_id == owner.id);
    CHECK((*access)[0].access == role::owner);
    CHECK((*access)[1].user_id == op.id);
    CHECK((*access)[1].access == role::operator_);
    CHECK((*access)[2].user_id == viewer.id);
    CHECK((*access)[2].access == role::viewer);

    // the viewer's own device is not affected by sharing d1
    CHECK(s->users_with_access("d2")->size() == 1);

    SUBCASE("demote an operator, then unshare")
    {
        REQUIRE(s->add_member("d1", op.id, role::viewer));
        CHECK(s->role_of(op.id, "d1").value() == role::viewer);
        REQUIRE(s->remove_member("d1", op.id));
        CHECK(s->role_of(op.id, "d1").value() == std::nullopt);
        CHECK(s->list_members("d1")->size() == 2);
        CHECK(s->remove_member("d1", op.id).error() == errc::user_not_found);
    }

    SUBCASE("the owner is never duplicated, demoted or removed")
    {
        CHECK(s->add_member("d1", viewer.id, role::owner).error() == errc::forbidden);
        CHECK(s->role_of(viewer.id, "d1").value() == role::viewer);
        CHECK(s->add_member("d1", owner.id, role::viewer).error() == errc::forbidden);
        CHECK(s->add_member("d1", owner.id, role::operator_).error() == errc::forbidden);
        CHECK(s->remove_member("d1", owner.id).error() == errc::forbidden);
        CHECK(s->role_of(owner.id, "d1").value() == role::owner);
        auto after = s->users_with_access("d1");
        REQUIRE(after);
        int owners = 0;
        for (auto const& a : *after)
            owners += a.access == role::owner;
        CHECK(owners == 1);
    }

    SUBCASE("unknown device or user, invalid role")
    {
        CHECK(s->add_member("nope", viewer.id, role::viewer).error() == errc::device_not_found);
        CHECK(s->add_member("d1", "u_nobody", role::viewer).error() == errc::user_not_found);
        CHECK(s->add_member("d1", viewer.id, static_cast<role>(7)).error() == errc::bad_message);
        CHECK(s->remove_member("nope", viewer.id).error() == errc::device_not_found);
        CHECK(s->remove_member("d1", "u_nobody").error() == errc::user_not_found);
        CHECK(s->list_members("nope").error() == errc::device_not_found);
        CHECK(s->users_with_access("nope").error() == errc::device_not_found);
    }
}
