// /api/devices* against a real relayd (contract section 2, docs/api.md): create, list, read,
// rename, delete, secret rotation, sharing, and the role and probing rules of every route.
#include "integration/api_test_helpers.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/protocol/validation.hpp>
#include <relay/store/store.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using namespace api_test;

namespace {

/** The device-secret key relayd generated beside its database. */
relay::auth::secret_box key_beside(std::string const& db_path)
{
    std::ifstream in(db_path + ".key");
    std::string hex;
    std::getline(in, hex);
    auto raw = relay::auth::hex_decode(hex);
    REQUIRE(raw);
    return relay::auth::secret_box(*raw);
}

/** A robot connection to /ws/device that answered the challenge with `secret`. */
std::unique_ptr<ws_client> connect_robot(std::uint16_t port, std::string const& device_id, std::string const& secret)
{
    auto robot = std::make_unique<ws_client>(port, "/ws/device");
    auto challenge = robot->expect("auth_challenge");
    REQUIRE(challenge.is_object());
    auto nonce = std::string(challenge.at("nonce").as_string());
    robot->send(json::object{{"type", "auth"},
                             {"device_id", device_id},
                             {"signature", relay::auth::device_signature(secret, nonce, device_id)}});
    REQUIRE(robot->expect("auth_ok").is_object());
    return robot;
}

/** Ann owns wimz-001; Bob is its viewer, Olga its operator, Eve a stranger. */
struct shared_fixture {
    relayd_process relayd{test_env()};
    std::uint16_t port = relayd.port();
    std::string ann = access_token_for(port, "ann@example.com");
    std::string bob = access_token_for(port, "bob@example.com");
    std::string olga = access_token_for(port, "olga@example.com");
    std::string eve = access_token_for(port, "eve@example.com");

    shared_fixture()
    {
        create_device(port, ann, "wimz-001");
        share("bob@example.com", "viewer");
        share("olga@example.com", "operator");
    }

    void share(std::string const& email, std::string const& role)
    {
        // docs/api.md: share a device
        auto r = http_json(port, "POST", "/api/devices/wimz-001/members",
                           json::object{{"email", email}, {"role", role}}, ann);
        CAPTURE(r.body);
        REQUIRE(r.status == 201);
        CHECK(r.json().at("email").as_string() == email);
        CHECK(r.json().at("role").as_string() == role);
        CHECK(r.json().at("user_id").as_string().starts_with("u_"));
    }
};

} // namespace

TEST_CASE("create, list and read devices")
{
    file_database file;
    relayd_process relayd(file.env);
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");

    // docs/api.md: create a device
    auto created = http_json(port, "POST", "/api/devices",
                             json::object{{"name", "Kitchen robot"}, {"device_id", "wimz-001"}}, ann);
    REQUIRE(created.status == 201);
    auto body = created.json().as_object();
    CHECK(body.at("device_id") == "wimz-001");
    CHECK(body.at("name") == "Kitchen robot");
    auto secret = std::string(body.at("device_secret").as_string());
    CHECK(secret.size() == 43);
    CHECK(body.size() == 3);

    // Without an id the relay makes one.
    auto generated = http_json(port, "POST", "/api/devices", json::object{{"name", "Garden robot"}}, ann);
    REQUIRE(generated.status == 201);
    auto generated_id = std::string(generated.json().at("device_id").as_string());
    CHECK(generated_id.starts_with("dev-"));
    CHECK(relay::protocol::is_valid_device_id(generated_id));

    // docs/api.md: list devices (ordered by name)
    auto list = http_get(port, "/api/devices", ann);
    REQUIRE(list.status == 200);
    auto devices = list.json().as_array();
    REQUIRE(devices.size() == 2);
    CHECK(devices[0].at("device_id").as_string() == generated_id);
    auto const& d = devices[1].as_object();
    CHECK(d.at("device_id") == "wimz-001");
    CHECK(d.at("name") == "Kitchen robot");
    CHECK(d.at("role") == "owner");
    CHECK(d.at("online") == false);
    CHECK(d.at("last_seen").is_null());
    CHECK(d.at("capabilities") == json::object{});
    CHECK(d.at("firmware").is_null());
    CHECK(d.at("created_at").is_int64());
    CHECK(!d.contains("device_secret"));

    // docs/api.md: read a device
    auto one = http_get(port, "/api/devices/wimz-001", ann);
    CHECK(one.status == 200);
    CHECK(one.json() == devices[1]);

    // The secret is stored sealed under the key beside the database, bound to the device id.
    auto db = relay::store::open_store(file.path);
    REQUIRE(db.has_value());
    auto row = (*db)->get_device("wimz-001");
    REQUIRE(row.has_value());
    CHECK(row->secret_sealed.starts_with("v1."));
    CHECK(row->secret_sealed.find(secret) == std::string::npos);
    auto box = key_beside(file.path);
    CHECK(box.open(row->secret_sealed, "wimz-001") == secret);
    CHECK(!box.open(row->secret_sealed, generated_id));

    // A robot's announced capabilities and its last visit show up in the list.
    REQUIRE((*db)->record_device_seen("wimz-001", 1795294092, std::string_view(R"({"camera":true,"arm":false})"),
                                      std::string_view("2.4.1"))
                .has_value());
    auto seen = http_get(port, "/api/devices/wimz-001", ann).json().as_object();
    CHECK(seen.at("last_seen") == "2026-11-21T20:48:12.000Z");
    CHECK(seen.at("capabilities") == json::object{{"camera", true}, {"arm", false}});
    CHECK(seen.at("firmware") == "2.4.1");
}

TEST_CASE("create refuses taken ids, bad ids, bad names and anonymous callers")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto bob = access_token_for(port, "bob@example.com");
    create_device(port, ann, "wimz-001");

    auto taken = http_json(port, "POST", "/api/devices", json::object{{"name", "Mine"}, {"device_id", "wimz-001"}}, bob);
    CHECK(taken.status == 409);
    CHECK(taken.error_code() == "DEVICE_EXISTS");

    for (auto const* bad : {"", "has space", "slash/inside", "ünï"}) {
        CAPTURE(bad);
        auto r = http_json(port, "POST", "/api/devices", json::object{{"name", "X"}, {"device_id", bad}}, ann);
        CHECK(r.status == 400);
        CHECK(r.error_code() == "BAD_MESSAGE");
    }
    CHECK(http_json(port, "POST", "/api/devices", json::object{{"name", "X"}, {"device_id", std::string(65, 'a')}}, ann)
              .error_code() == "BAD_MESSAGE");
    CHECK(http_json(port, "POST", "/api/devices", json::object{{"name", "X"}, {"device_id", 7}}, ann).error_code() ==
          "BAD_MESSAGE");

    auto no_name = http_json(port, "POST", "/api/devices", json::object{{"device_id", "wimz-002"}}, ann);
    CHECK(no_name.error_code() == "BAD_MESSAGE");
    CHECK(no_name.json().at("error").at("message") == "missing field 'name'");
    CHECK(http_json(port, "POST", "/api/devices", json::object{{"name", "   "}}, ann).error_code() == "BAD_MESSAGE");
    CHECK(http_json(port, "POST", "/api/devices", json::object{{"name", "tab\there"}}, ann).error_code() == "BAD_MESSAGE");
    CHECK(http_json(port, "POST", "/api/devices", json::object{{"name", std::string(129, 'n')}}, ann).error_code() ==
          "BAD_MESSAGE");
    CHECK(http_call(port, "POST", "/api/devices", "[", {{"Authorization", "Bearer " + ann}}).error_code() == "BAD_JSON");

    auto anonymous = http_json(port, "POST", "/api/devices", json::object{{"name", "X"}});
    CHECK(anonymous.status == 401);
    CHECK(anonymous.error_code() == "UNAUTHORIZED");
    // A refused create leaves nothing behind.
    CHECK(http_get(port, "/api/devices", ann).json().as_array().size() == 1);
}

TEST_CASE("device ids . and .., and names with control or direction-override characters, are refused")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    for (auto const* bad : {".", ".."}) {
        CAPTURE(bad);
        auto r = http_json(port, "POST", "/api/devices", json::object{{"name", "X"}, {"device_id", bad}}, ann);
        CHECK(r.status == 400);
        CHECK(r.error_code() == "BAD_MESSAGE");
    }
    create_device(port, ann, "wimz-001");
    // A name that would read "Kitchen" in an app while being something else, or break a log line.
    for (std::string const bad : {"Kitchen\u202egpj.exe", "a\u2066b\u2069", "\u200fname", "left\u061cright",
                                  "next\u0085line", "bell\u0007"}) {
        CAPTURE(bad);
        auto created = http_json(port, "POST", "/api/devices", json::object{{"name", bad}}, ann);
        CHECK(created.status == 400);
        CHECK(created.error_code() == "BAD_MESSAGE");
        auto renamed = http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", bad}}, ann);
        CHECK(renamed.status == 400);
        CHECK(renamed.error_code() == "BAD_MESSAGE");
    }
    // Text in any script, right-to-left included, is a fine name.
    auto hebrew = http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "\u05e8\u05d5\u05d1\u05d5\u05d8"}}, ann);
    CHECK(hebrew.status == 200);
    CHECK(http_get(port, "/api/devices", ann).json().as_array().size() == 1);
}

TEST_CASE("roles: viewers and operators read, only the owner manages, strangers see nothing")
{
    shared_fixture f;
    auto const port = f.port;

    // Everyone with a role sees the device with that role.
    auto role_of = [&](std::string const& token) {
        auto list = http_get(port, "/api/devices", token).json().as_array();
        return list.empty() ? std::string("none") : std::string(list[0].at("role").as_string());
    };
    CHECK(role_of(f.ann) == "owner");
    CHECK(role_of(f.bob) == "viewer");
    CHECK(role_of(f.olga) == "operator");
    CHECK(role_of(f.eve) == "none");
    CHECK(http_get(port, "/api/devices/wimz-001", f.bob).json().at("role") == "viewer");

    // Managing needs the owner: 403 for members, 404 for the stranger (no probing).
    for (auto const* token : {&f.bob, &f.olga}) {
        CHECK(http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "Mine now"}}, *token).error_code() ==
              "FORBIDDEN");
        CHECK(http_delete(port, "/api/devices/wimz-001", *token).error_code() == "FORBIDDEN");
        CHECK(http_json(port, "POST", "/api/devices/wimz-001/secret", json::object{}, *token).error_code() ==
              "FORBIDDEN");
        CHECK(http_get(port, "/api/devices/wimz-001/members", *token).error_code() == "FORBIDDEN");
        CHECK(http_json(port, "POST", "/api/devices/wimz-001/members",
                        json::object{{"email", "eve@example.com"}, {"role", "viewer"}}, *token)
                  .error_code() == "FORBIDDEN");
        CHECK(http_delete(port, "/api/devices/wimz-001/members/whoever", *token).error_code() == "FORBIDDEN");
    }
    auto viewer_rename = http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "Mine now"}}, f.bob);
    CHECK(viewer_rename.status == 403);
    CHECK(viewer_rename.json().at("error").at("message") == "this needs the owner role on the device (yours is viewer)");

    // The stranger gets exactly what an unknown device gets.
    auto stranger = http_get(port, "/api/devices/wimz-001", f.eve);
    auto unknown = http_get(port, "/api/devices/wimz-404", f.eve);
    CHECK(stranger.status == 404);
    CHECK(stranger.error_code() == "DEVICE_NOT_FOUND");
    CHECK(stranger.body == unknown.body);
    CHECK(http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "x"}}, f.eve).status == 404);
    CHECK(http_delete(port, "/api/devices/wimz-001", f.eve).status == 404);
    CHECK(http_json(port, "POST", "/api/devices/wimz-001/secret", json::object{}, f.eve).status == 404);
    CHECK(http_get(port, "/api/devices/wimz-001/members", f.eve).status == 404);
    CHECK(http_delete(port, "/api/devices/wimz-001/members/x", f.eve).status == 404);
    // Ids that cannot exist are simply unknown.
    CHECK(http_get(port, "/api/devices/has%20space", f.ann).error_code() == "DEVICE_NOT_FOUND");

    // And every device route wants a token first.
    for (auto const& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/devices"}, {"POST", "/api/devices"}, {"GET", "/api/devices/wimz-001"},
             {"PATCH", "/api/devices/wimz-001"}, {"DELETE", "/api/devices/wimz-001"},
             {"POST", "/api/devices/wimz-001/secret"}, {"GET", "/api/devices/wimz-001/members"},
             {"POST", "/api/devices/wimz-001/members"}, {"DELETE", "/api/devices/wimz-001/members/u_1"}}) {
        CAPTURE(target);
        auto r = http_call(port, method, target);
        CHECK(r.status == 401);
        CHECK(r.error_code() == "UNAUTHORIZED");
    }
}

TEST_CASE("rename: the owner gets the renamed device back")
{
    shared_fixture f;
    // docs/api.md: rename a device
    auto r = http_json(f.port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "Hall robot"}}, f.ann);
    REQUIRE(r.status == 200);
    CHECK(r.json().at("device_id") == "wimz-001");
    CHECK(r.json().at("name") == "Hall robot");
    CHECK(r.json().at("role") == "owner");
    // Members see the new name.
    CHECK(http_get(f.port, "/api/devices/wimz-001", f.bob).json().at("name") == "Hall robot");
    CHECK(http_json(f.port, "PATCH", "/api/devices/wimz-001", json::object{{"name", ""}}, f.ann).error_code() ==
          "BAD_MESSAGE");
    CHECK(http_json(f.port, "PATCH", "/api/devices/wimz-001", json::object{{"label", "x"}}, f.ann).error_code() ==
          "BAD_MESSAGE");
}

TEST_CASE("rotate: a new secret each time, sealed in place of the old")
{
    file_database file;
    relayd_process relayd(file.env);
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto first = std::string(create_device(port, ann, "wimz-001").at("device_secret").as_string());

    // docs/api.md: rotate the secret
    auto r = http_json(port, "POST", "/api/devices/wimz-001/secret", json::object{}, ann);
    REQUIRE(r.status == 200);
    CHECK(r.json().at("device_id") == "wimz-001");
    auto second = std::string(r.json().at("device_secret").as_string());
    CHECK(second.size() == 43);
    CHECK(second != first);
    // No body at all is fine too.
    auto third = http_call(port, "POST", "/api/devices/wimz-001/secret", {}, {{"Authorization", "Bearer " + ann}});
    REQUIRE(third.status == 200);

    auto db = relay::store::open_store(file.path);
    REQUIRE(db.has_value());
    auto row = (*db)->get_device("wimz-001");
    REQUIRE(row.has_value());
    CHECK(key_beside(file.path).open(row->secret_sealed, "wimz-001") == std::string(third.json().at("device_secret").as_string()));
}

TEST_CASE("members: share, change a role, list, unshare")
{
    shared_fixture f;
    auto const port = f.port;

    // docs/api.md: list members (owner first)
    auto list = http_get(port, "/api/devices/wimz-001/members", f.ann);
    REQUIRE(list.status == 200);
    auto members = list.json().as_array();
    REQUIRE(members.size() == 3);
    CHECK(members[0].at("email") == "ann@example.com");
    CHECK(members[0].at("role") == "owner");
    CHECK(members[1].at("email") == "olga@example.com");
    CHECK(members[1].at("role") == "operator");
    CHECK(members[2].at("email") == "bob@example.com");
    CHECK(members[2].at("role") == "viewer");
    auto bob_id = std::string(members[2].at("user_id").as_string());

    // The email is normalized like at login.
    auto eve = http_json(port, "POST", "/api/devices/wimz-001/members",
                         json::object{{"email", "Eve@Example.com"}, {"role", "viewer"}}, f.ann);
    CHECK(eve.status == 201);
    CHECK(eve.json().at("email") == "eve@example.com");
    CHECK(eve.json().at("role") == "viewer");
    CHECK(eve.json().at("user_id").as_string().starts_with("u_"));
    CHECK(http_get(port, "/api/devices/wimz-001", f.eve).status == 200);

    // Sharing again changes the role: 200 instead of 201.
    auto promoted = http_json(port, "POST", "/api/devices/wimz-001/members",
                              json::object{{"email", "bob@example.com"}, {"role", "operator"}}, f.ann);
    CHECK(promoted.status == 200);
    CHECK(promoted.json().at("role") == "operator");
    CHECK(http_get(port, "/api/devices/wimz-001", f.bob).json().at("role") == "operator");

    auto nobody = http_json(port, "POST", "/api/devices/wimz-001/members",
                            json::object{{"email", "nobody@example.com"}, {"role", "viewer"}}, f.ann);
    CHECK(nobody.status == 404);
    CHECK(nobody.error_code() == "USER_NOT_FOUND");
    for (auto const* role : {"owner", "admin", "Viewer"}) {
        CAPTURE(role);
        auto r = http_json(port, "POST", "/api/devices/wimz-001/members",
                           json::object{{"email", "bob@example.com"}, {"role", role}}, f.ann);
        CHECK(r.status == 400);
        CHECK(r.error_code() == "BAD_MESSAGE");
    }
    CHECK(http_json(port, "POST", "/api/devices/wimz-001/members", json::object{{"email", "bob@example.com"}}, f.ann)
              .error_code() == "BAD_MESSAGE");
    // The owner cannot be demoted by sharing with them.
    auto self = http_json(port, "POST", "/api/devices/wimz-001/members",
                          json::object{{"email", "ann@example.com"}, {"role", "viewer"}}, f.ann);
    CHECK(self.status == 400);
    CHECK(self.error_code() == "BAD_MESSAGE");

    // docs/api.md: remove a member
    auto removed = http_delete(port, "/api/devices/wimz-001/members/" + bob_id, f.ann);
    CHECK(removed.status == 204);
    CHECK(http_get(port, "/api/devices/wimz-001", f.bob).error_code() == "DEVICE_NOT_FOUND");
    CHECK(http_get(port, "/api/devices", f.bob).json().as_array().empty());

    auto not_member = http_delete(port, "/api/devices/wimz-001/members/" + bob_id, f.ann);
    CHECK(not_member.status == 404);
    CHECK(not_member.error_code() == "USER_NOT_FOUND");

    auto ann_id = std::string(members[0].at("user_id").as_string());
    auto owner = http_delete(port, "/api/devices/wimz-001/members/" + ann_id, f.ann);
    CHECK(owner.status == 400);
    CHECK(owner.error_code() == "BAD_MESSAGE");
    CHECK(owner.json().at("error").at("message") ==
          "the owner cannot be removed from the device; delete the device instead");
    CHECK(http_get(port, "/api/devices/wimz-001", f.ann).status == 200);
}

TEST_CASE("delete: the device is gone for everyone and its id is free again")
{
    shared_fixture f;
    // docs/api.md: delete a device
    auto r = http_delete(f.port, "/api/devices/wimz-001", f.ann);
    CHECK(r.status == 204);
    for (auto const* token : {&f.ann, &f.bob, &f.olga}) {
        CHECK(http_get(f.port, "/api/devices/wimz-001", *token).error_code() == "DEVICE_NOT_FOUND");
        CHECK(http_get(f.port, "/api/devices", *token).json().as_array().empty());
    }
    CHECK(http_delete(f.port, "/api/devices/wimz-001", f.ann).status == 404);
    // A new device with the same id starts clean: no old members.
    create_device(f.port, f.eve, "wimz-001");
    CHECK(http_get(f.port, "/api/devices/wimz-001", f.bob).status == 404);
    CHECK(http_get(f.port, "/api/devices/wimz-001/members", f.eve).json().as_array().size() == 1);
}

TEST_CASE("a connected robot shows online; rotating its secret or deleting it disconnects it at once")
{
    relayd_process relayd(test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto secret = std::string(create_device(port, ann, "wimz-001").at("device_secret").as_string());

    auto robot = connect_robot(port, "wimz-001", secret);
    CHECK(http_get(port, "/api/devices/wimz-001", ann).json().at("online") == true);

    auto rotated = http_json(port, "POST", "/api/devices/wimz-001/secret", json::object{}, ann);
    REQUIRE(rotated.status == 200);
    CHECK(robot->wait_closed() == 4401);
    // The relay takes the robot off the hub once the close handshake it started is over, which
    // may be a moment after the robot read the close frame: wait for that, boundedly.
    auto offline_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (http_get(port, "/api/devices/wimz-001", ann).json().at("online") == true &&
           std::chrono::steady_clock::now() < offline_by)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(http_get(port, "/api/devices/wimz-001", ann).json().at("online") == false);

    // The old secret no longer authenticates; the new one does.
    auto stale = std::make_unique<ws_client>(port, "/ws/device");
    auto nonce = std::string(stale->expect("auth_challenge").at("nonce").as_string());
    stale->send(json::object{{"type", "auth"},
                             {"device_id", "wimz-001"},
                             {"signature", relay::auth::device_signature(secret, nonce, "wimz-001")}});
    CHECK(stale->wait_closed() == 4401);
    auto again = connect_robot(port, "wimz-001", std::string(rotated.json().at("device_secret").as_string()));

    REQUIRE(http_delete(port, "/api/devices/wimz-001", ann).status == 204);
    CHECK(again->wait_closed() == 4403);
}
