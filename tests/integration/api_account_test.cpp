// The audit trail and DELETE /api/account against a real relayd (contract section 8, "Account";
// docs/auth.md): what each action records, who may read it, `relayd audit`, retention, and an
// account deletion that ends every piece of live access the account had.
#include "integration/api_test_helpers.hpp"
#include "support/fixtures.hpp"

#include <relay/store/store.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

using namespace api_test;

namespace {

using clock_type = std::chrono::steady_clock;

/** A GET of an audit route, as JSON (the status checked). */
json::object audit_page(std::uint16_t port, std::string const& target, std::string const& bearer)
{
    auto r = http_get(port, target, bearer);
    CAPTURE(r.body);
    REQUIRE(r.status == 200);
    return r.json().as_object();
}

std::vector<std::string> actions_of(json::object const& page)
{
    std::vector<std::string> out;
    for (auto const& e : page.at("entries").as_array())
        out.push_back(std::string(e.at("action").as_string()));
    return out;
}

/**
 * The page at `target` once it holds `count` entries: entries are written after the answer of
 * the request they record (on the relay's ordered store-writes queue), so a read right after may
 * come before the write. Bounded: fails after 10 s.
 */
json::object audit_with(std::uint16_t port, std::string const& target, std::string const& bearer, std::size_t count)
{
    auto deadline = clock_type::now() + std::chrono::seconds(10);
    for (;;) {
        auto page = audit_page(port, target, bearer);
        if (page.at("entries").as_array().size() >= count || clock_type::now() > deadline)
            return page;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

json::object entry_named(json::object const& page, std::string const& action)
{
    for (auto const& e : page.at("entries").as_array())
        if (e.at("action").as_string() == action)
            return e.as_object();
    FAIL("no entry " << action << " in " << json::serialize(page));
    return {};
}

} // namespace

TEST_CASE("audit: every account and device action is recorded with who, what and from where")
{
    // The relay sits behind a proxy on 127.0.0.1, which names the client in X-Forwarded-For.
    relayd_process relayd(api_test::test_env({{"RELAY_TRUSTED_PROXIES", "127.0.0.1"}}));
    auto port = relayd.port();
    auto ann_id = register_user(port, "ann@example.com");
    auto bob_id = register_user(port, "bob@example.com");
    auto from = [&](std::string const& address, std::string const& body) {
        return http_call(port, "POST", "/api/auth/login", body, {{"X-Forwarded-For", "198.51.100.1, " + address}});
    };
    auto ok = from("203.0.113.9", R"({"email":"ann@example.com","password":")" + good_password + R"("})");
    REQUIRE(ok.status == 200);
    auto ann = std::string(ok.json().at("access_token").as_string());
    CHECK(from("203.0.113.66", R"({"email":"ann@example.com","password":"wrong password!"})").status == 401);
    CHECK(from("203.0.113.67", R"({"email":"nobody@example.com","password":"wrong password!"})").status == 401);
    auto bob = std::string(login(port, "bob@example.com").at("access_token").as_string());

    create_device(port, ann, "wimz-001");
    REQUIRE(http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "Hall"}}, ann).status == 200);
    REQUIRE(http_json(port, "POST", "/api/devices/wimz-001/secret", json::object{}, ann).status == 200);
    auto share = [&](std::string const& role) {
        return http_json(port, "POST", "/api/devices/wimz-001/members",
                         json::object{{"email", "bob@example.com"}, {"role", role}}, ann)
            .status;
    };
    REQUIRE(share("viewer") == 201);
    REQUIRE(share("viewer") == 200); // no change: nothing recorded
    REQUIRE(share("operator") == 200);

    // The device's trail, for its owner, newest first.
    auto device = audit_with(port, "/api/devices/wimz-001/audit", ann, 5);
    CHECK(actions_of(device) == std::vector<std::string>{"member.role_changed", "member.added", "device.secret_rotated",
                                                         "device.renamed", "device.added"});
    auto changed = entry_named(device, "member.role_changed");
    CHECK(changed.at("actor") == json::value(ann_id));
    CHECK(changed.at("device_id") == "wimz-001");
    CHECK(changed.at("target_user_id") == json::value(bob_id));
    CHECK(changed.at("detail") == json::value(json::object{{"from", "viewer"}, {"role", "operator"}}));
    CHECK(changed.at("client_address") == "127.0.0.1"); // no X-Forwarded-For on these requests
    CHECK(changed.at("at").as_string().ends_with("Z"));
    CHECK(entry_named(device, "device.renamed").at("detail") == json::value(json::object{{"name", "Hall"}}));
    CHECK(device.at("next_before").is_null());

    // Only the owner reads it: an operator is refused, a stranger cannot tell it exists.
    CHECK(http_get(port, "/api/devices/wimz-001/audit", bob).status == 403);
    auto eve = access_token_for(port, "eve@example.com");
    CHECK(http_get(port, "/api/devices/wimz-001/audit", eve).status == 404);
    CHECK(http_get(port, "/api/devices/nothing-here/audit", eve).status == 404);
    CHECK(http_get(port, "/api/devices/wimz-001/audit").status == 401);

    // Ann's own trail: her login from the proxied address, the wrong password tried on her
    // account, her device actions; not the login tried with an email that has no account.
    auto mine = audit_with(port, "/api/account/audit", ann, 7);
    auto const mine_actions = actions_of(mine);
    CHECK(mine_actions.back() == "auth.login");
    CHECK(std::count(mine_actions.begin(), mine_actions.end(), "auth.login_failed") == 1);
    auto login = entry_named(mine, "auth.login");
    CHECK(login.at("client_address") == "203.0.113.9");
    CHECK(login.at("actor") == json::value(ann_id));
    auto failed = entry_named(mine, "auth.login_failed");
    CHECK(failed.at("client_address") == "203.0.113.66");
    CHECK(failed.at("detail") == json::value(json::object{{"reason", "wrong_password"}}));

    // Bob's trail shows what Ann did to him, without Ann's address.
    auto his = audit_with(port, "/api/account/audit", bob, 3);
    CHECK(actions_of(his) == std::vector<std::string>{"member.role_changed", "member.added", "auth.login"});
    CHECK(entry_named(his, "member.added").at("client_address").is_null());
    CHECK(entry_named(his, "auth.login").at("client_address") == "127.0.0.1");

    // Pages: `limit`, then `before` the cursor the page gave.
    auto first = audit_page(port, "/api/devices/wimz-001/audit?limit=2", ann);
    CHECK(actions_of(first) == std::vector<std::string>{"member.role_changed", "member.added"});
    REQUIRE(first.at("next_before").is_int64());
    auto second = audit_page(
        port, "/api/devices/wimz-001/audit?limit=2&before=" + std::to_string(first.at("next_before").as_int64()), ann);
    CHECK(actions_of(second) == std::vector<std::string>{"device.secret_rotated", "device.renamed"});
    CHECK(http_get(port, "/api/account/audit?limit=0", ann).status == 400);
    CHECK(http_get(port, "/api/account/audit?before=x", ann).status == 400);

    // Removing a member and deleting the device are recorded too; the deleted device's trail
    // stays in the owner's own.
    REQUIRE(http_delete(port, "/api/devices/wimz-001/members/" + bob_id, ann).status == 204);
    REQUIRE(http_delete(port, "/api/devices/wimz-001", ann).status == 204);
    auto after = audit_with(port, "/api/account/audit", ann, 9);
    CHECK(actions_of(after).at(0) == "device.removed");
    CHECK(actions_of(after).at(1) == "member.removed");
    CHECK(http_get(port, "/api/devices/wimz-001/audit", ann).status == 404);
    // Registered again by someone else, the id shows nothing of its previous life.
    create_device(port, eve, "wimz-001");
    auto deadline = clock_type::now() + std::chrono::seconds(10);
    std::vector<std::string> fresh;
    while (((fresh = actions_of(audit_page(port, "/api/devices/wimz-001/audit", eve))).empty() ||
            fresh.front() != "device.added") &&
           clock_type::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(fresh == std::vector<std::string>{"device.added"});
}

TEST_CASE("audit: a password reset and a refresh-token reuse are recorded")
{
    relayd_process relayd(api_test::test_env({{"RELAY_DEV", "true"}}));
    auto port = relayd.port();
    auto ann_id = register_user(port, "ann@example.com");
    auto tokens = login(port, "ann@example.com");
    auto refresh = std::string(tokens.at("refresh_token").as_string());
    auto rotated = http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", refresh}});
    REQUIRE(rotated.status == 200);
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", refresh}}).status == 401);

    REQUIRE(http_json(port, "POST", "/api/auth/password-reset", json::object{{"email", "ann@example.com"}}).status == 202);
    std::string token;
    auto deadline = clock_type::now() + std::chrono::seconds(10);
    while ((token = logged_reset_token(relayd, "ann@example.com")).empty() && clock_type::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE_FALSE(token.empty());
    REQUIRE(http_json(port, "POST", "/api/auth/password-reset/confirm",
                      json::object{{"token", token}, {"new_password", "another horse battery staple"}})
                .status == 204);

    auto fresh = std::string(login(port, "ann@example.com", "another horse battery staple").at("access_token").as_string());
    auto page = audit_with(port, "/api/account/audit", fresh, 4);
    CHECK(actions_of(page) == std::vector<std::string>{"auth.login", "auth.password_reset", "auth.refresh_reuse", "auth.login"});
    CHECK(entry_named(page, "auth.password_reset").at("target_user_id") == json::value(ann_id));
}

TEST_CASE("relayd audit shows the trail to operators, by device, user, time and count, as text or JSON")
{
    file_database db;
    relayd_process relayd(db.env);
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    create_device(port, ann, "wimz-001");
    REQUIRE(http_json(port, "PATCH", "/api/devices/wimz-001", json::object{{"name", "Hall"}}, ann).status == 200);
    audit_with(port, "/api/account/audit", ann, 3);

    auto [st, text] = run_relayd({"audit", "--device", "wimz-001"}, db.env);
    CAPTURE(text);
    CHECK(st == 0);
    auto renamed = text.find("device.renamed actor=u_");
    auto added = text.find("device.added actor=u_");
    CHECK(renamed != std::string::npos);
    CHECK(added != std::string::npos);
    CHECK(renamed < added); // newest first
    CHECK(text.find("auth.login") == std::string::npos);
    CHECK(text.find("device=wimz-001 target=- from=127.0.0.1 {\"name\":\"Hall\"}") != std::string::npos);

    auto [jst, js] = run_relayd({"audit", "--user", "ann@example.com", "--json", "--limit", "2"}, db.env);
    CAPTURE(js);
    CHECK(jst == 0);
    auto parsed = json::parse(js.substr(js.find('[')));
    REQUIRE(parsed.is_array());
    REQUIRE(parsed.as_array().size() == 2);
    CHECK(parsed.as_array()[0].at("action") == "device.renamed");
    CHECK(parsed.as_array()[1].at("action") == "device.added");
    CHECK(parsed.as_array()[0].at("client_address") == "127.0.0.1");

    auto [fst, future] = run_relayd({"audit", "--since", "2199-01-01T00:00:00Z"}, db.env);
    CHECK(fst == 0);
    CHECK(future.find("no audit entries match") != std::string::npos);
    auto [ast, recent] = run_relayd({"audit", "--since", "1h"}, db.env);
    CHECK(ast == 0);
    CHECK(recent.find("auth.login") != std::string::npos);

    // What operators do with relayd's own commands is recorded with the actor "operator".
    REQUIRE(run_relayd({"device", "add", "wimz-002", "--owner", "ann@example.com"}, db.env).first == 0);
    auto [ost, op] = run_relayd({"audit", "--device", "wimz-002"}, db.env);
    CAPTURE(op);
    CHECK(ost == 0);
    CHECK(op.find("device.added actor=operator device=wimz-002 target=u_") != std::string::npos);

    CHECK(run_relayd({"audit", "--since", "yesterday"}, db.env).first == 2);
    CHECK(run_relayd({"audit", "--limit", "0"}, db.env).first == 2);
    CHECK(run_relayd({"audit", "--frobnicate"}, db.env).first == 2);
    auto [nst, nobody] = run_relayd({"audit", "--user", "nobody@example.com"}, db.env);
    CHECK(nst == 1);
    CHECK(nobody.find("no account has the email") != std::string::npos);
}

TEST_CASE("audit: a trail the store cannot write fails no request: it is logged and counted")
{
    file_database db;
    relayd_process relayd(db.env);
    auto port = relayd.port();
    register_user(port, "ann@example.com");
    {
        // The table goes from under the running relay: every write of an entry fails from now on.
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(db.path.c_str(), &raw) == SQLITE_OK);
        sqlite3_busy_timeout(raw, 5000);
        auto rc = sqlite3_exec(raw, "DROP TABLE audit_log", nullptr, nullptr, nullptr);
        sqlite3_close(raw);
        REQUIRE(rc == SQLITE_OK);
    }
    auto ann = login(port, "ann@example.com"); // 200: the login itself is done
    create_device(port, std::string(ann.at("access_token").as_string()), "wimz-001");

    auto failures = [&] {
        auto body = http_get(port, "/metrics").body;
        auto at = body.find("\nrelay_audit_write_failures_total ");
        return at == std::string::npos ? 0LL : std::stoll(body.substr(body.find(' ', at) + 1));
    };
    auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (failures() < 2 && clock_type::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(failures() == 2);
    CHECK(relayd.output().find("audit_write_failed") != std::string::npos);
    auto recorded = http_get(port, "/metrics").body;
    CHECK(recorded.find("relay_audit_entries_total{action=\"auth.login\"} 1") != std::string::npos);
    CHECK(recorded.find("relay_audit_entries_total{action=\"device.added\"} 1") != std::string::npos);
}

TEST_CASE("audit: entries past RELAY_AUDIT_RETENTION are pruned when relayd starts")
{
    file_database db;
    auto const now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    constexpr std::int64_t day_ms = 24 * 3600 * 1000;
    {
        auto s = relay::store::open_store(db.path);
        REQUIRE(s.has_value());
        // What a relay recorded 3 days and 12 hours ago ("now" injected through the entries' times).
        REQUIRE((*s)->insert_audit({0, now_ms - 3 * day_ms, "u_old", "auth.login", {}, {}, "", "{}"}).has_value());
        REQUIRE((*s)->insert_audit({0, now_ms - day_ms / 2, "u_recent", "auth.login", {}, {}, "", "{}"}).has_value());
    }
    auto env = db.env;
    env["RELAY_AUDIT_RETENTION"] = "2";
    {
        relayd_process relayd(env);
        CHECK(relayd.output().find("audit_pruned") != std::string::npos);
    }
    auto s = relay::store::open_store(db.path);
    REQUIRE(s.has_value());
    auto left = (*s)->list_audit({});
    REQUIRE(left.has_value());
    REQUIRE(left->size() == 1);
    CHECK(left->front().actor == "u_recent");

    // 0 keeps everything.
    env["RELAY_AUDIT_RETENTION"] = "0";
    REQUIRE((*s)->insert_audit({0, now_ms - 400 * day_ms, "u_ancient", "auth.login", {}, {}, "", "{}"}).has_value());
    {
        relayd_process relayd(env);
    }
    CHECK((*s)->list_audit({})->size() == 2);
}

TEST_CASE("DELETE /api/account: devices removed, robots and sockets disconnected, tokens dead, shares gone")
{
    file_database db;
    relayd_process relayd(db.env);
    auto port = relayd.port();
    auto ann_id = register_user(port, "ann@example.com");
    auto ann_tokens = login(port, "ann@example.com");
    auto ann = std::string(ann_tokens.at("access_token").as_string());
    auto bob = access_token_for(port, "bob@example.com");
    auto secret = std::string(create_device(port, ann, "wimz-001").at("device_secret").as_string());
    create_device(port, bob, "bob-001");
    REQUIRE(http_json(port, "POST", "/api/devices/wimz-001/members",
                      json::object{{"email", "bob@example.com"}, {"role", "viewer"}}, ann)
                .status == 201);
    REQUIRE(http_json(port, "POST", "/api/devices/bob-001/members",
                      json::object{{"email", "ann@example.com"}, {"role", "operator"}}, bob)
                .status == 201);
    auto robot = connect_robot(port, device_credentials{"wimz-001", secret});
    auto ann_app = connect_app(port, account{"ann@example.com", ann_id, ann, {}});

    // The password is required, and must be right.
    auto missing = http_call(port, "DELETE", "/api/account", "{}", {{"Authorization", "Bearer " + ann}});
    CHECK(missing.status == 400);
    CHECK(missing.body.find("password") != std::string::npos);
    auto wrong = http_call(port, "DELETE", "/api/account", R"({"password":"not my password"})",
                           {{"Authorization", "Bearer " + ann}});
    CHECK(wrong.status == 401);
    CHECK(wrong.error_code() == "INVALID_CREDENTIALS");
    CHECK(http_call(port, "DELETE", "/api/account", R"({"password":"x"})").status == 401);
    CHECK(http_get(port, "/api/devices/wimz-001", ann).status == 200); // nothing happened yet

    auto done = http_call(port, "DELETE", "/api/account", json::serialize(json::object{{"password", good_password}}),
                          {{"Authorization", "Bearer " + ann}});
    CAPTURE(done.body);
    REQUIRE(done.status == 204);

    CHECK(robot->wait_closed() == 4403);   // its device is gone
    CHECK(ann_app->wait_closed() == 4401); // her logins ended
    // Her tokens are dead: access, refresh, and the password no longer logs in.
    CHECK(http_get(port, "/api/devices", ann).status == 401);
    CHECK(http_json(port, "POST", "/api/auth/refresh", json::object{{"refresh_token", ann_tokens.at("refresh_token")}})
              .status == 401);
    CHECK(http_json(port, "POST", "/api/auth/login", json::object{{"email", "ann@example.com"}, {"password", good_password}})
              .status == 401);
    // Bob lost her device, and she is no longer a member of his.
    auto bobs = http_get(port, "/api/devices", bob);
    REQUIRE(bobs.status == 200);
    REQUIRE(bobs.json().as_array().size() == 1);
    CHECK(bobs.json().as_array()[0].at("device_id") == "bob-001");
    auto members = http_get(port, "/api/devices/bob-001/members", bob).json().as_array();
    REQUIRE(members.size() == 1);
    CHECK(members[0].at("email") == "bob@example.com");

    // The trail: Bob sees that he lost her device and that she left his; operators see the rest.
    auto his = audit_with(port, "/api/account/audit", bob, 5);
    auto lost = entry_named(his, "member.removed");
    CHECK(lost.at("detail") == json::value(json::object{{"reason", "account_deleted"}}));
    auto device = audit_with(port, "/api/devices/bob-001/audit", bob, 3);
    CHECK(actions_of(device).front() == "member.removed");
    auto [st, text] = run_relayd({"audit", "--user", ann_id}, db.env);
    CAPTURE(text);
    CHECK(st == 0);
    CHECK(text.find("account.deleted actor=" + ann_id) != std::string::npos);
    CHECK(text.find("account.delete_refused") != std::string::npos);
    // The email is free again.
    register_user(port, "ann@example.com");
}

TEST_CASE("DELETE /api/account: wrong passwords count in the login throttle, so a stolen token cannot guess on")
{
    relayd_process relayd(api_test::test_env());
    auto port = relayd.port();
    auto ann = access_token_for(port, "ann@example.com");
    auto attempt = [&](std::string const& password) {
        return http_call(port, "DELETE", "/api/account", json::serialize(json::object{{"password", password}}),
                         {{"Authorization", "Bearer " + ann}});
    };
    for (int i = 0; i < 5; ++i)
        CHECK(attempt("guess number " + std::to_string(i)).status == 401);
    // Locked: even the right password waits, and so does a login to the account.
    auto locked = attempt(good_password);
    CHECK(locked.status == 429);
    CHECK_FALSE(locked.header("retry-after").empty());
    CHECK(http_json(port, "POST", "/api/auth/login", json::object{{"email", "ann@example.com"}, {"password", good_password}})
              .status == 429);
    CHECK(http_get(port, "/api/devices", ann).status == 200); // nothing was deleted
}
