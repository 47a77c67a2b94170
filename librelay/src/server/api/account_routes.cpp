// The caller's own account: its audit trail, a device's trail for its owner, and deleting the
// account (contract section 8, "Account"). docs/api.md describes every answer.
#include "server/api/api_common.hpp"
#include "server/api/routes.hpp"
#include "server/audit.hpp"
#include "server/blocking.hpp"
#include "server/cluster_sync.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/services.hpp"

#include <relay/auth/throttle.hpp>
#include <relay/server/audit_json.hpp>

#include <boost/json/array.hpp>

#include <algorithm>

namespace relay::server {
namespace {

/** The most entries one page holds, and how many when `limit` is not given. */
constexpr std::size_t max_page = 500;
constexpr std::size_t default_page = 100;

/** `limit` and `before` of an audit read, into `q`. */
or_answer<store::audit_query> page_of(request_context const& ctx, store::audit_query q)
{
    auto limit = positive_param(ctx.query, "limit");
    if (!limit)
        return limit.take_answer();
    auto before = positive_param(ctx.query, "before");
    if (!before)
        return before.take_answer();
    q.limit = *limit ? static_cast<std::size_t>(std::min<std::int64_t>(**limit, max_page)) : default_page;
    q.before_id = *before;
    return q;
}

/** 200 {"entries":[…],"next_before":id|null}: a page, and the cursor of the next one. */
http_response page_json(std::vector<store::audit_entry> const& entries, std::size_t limit, std::string const& viewer)
{
    boost::json::array out;
    out.reserve(entries.size());
    for (auto const& e : entries)
        // Another user's address (an owner who shared a device with the viewer) is theirs.
        out.push_back(audit_entry_json(e, e.actor == viewer));
    boost::json::value next = nullptr;
    if (entries.size() == limit && !entries.empty())
        next = entries.back().id;
    return json_response(http::status::ok, boost::json::object{{"entries", std::move(out)}, {"next_before", next}});
}

// GET /api/account/audit?limit=&before= → the caller's trail: what they did and what was done
// to them, newest first.
net::awaitable<http_response> account_audit(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto user = authenticate(auth, ctx);
    if (!user) co_return user.take_answer();
    store::audit_query mine;
    mine.user_id = *user;
    auto q = page_of(ctx, std::move(mine));
    if (!q) co_return q.take_answer();
    auto entries = co_await run_blocking(rt.blocking, [&] { return rt.store->list_audit(*q); });
    if (!entries)
        co_return store_failure(entries.error());
    co_return page_json(*entries, q->limit, *user);
}

// GET /api/devices/{id}/audit?limit=&before= → the device's trail (owner), newest first.
net::awaitable<http_response> device_audit(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto const& device_id = ctx.param("id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::owner);
    if (!caller) co_return caller.take_answer();
    store::audit_query of_device;
    of_device.device_id = device_id;
    auto q = page_of(ctx, std::move(of_device));
    if (!q) co_return q.take_answer();
    auto entries = co_await run_blocking(rt.blocking, [&]() -> store::result<std::vector<store::audit_entry>> {
        // Only since this device was registered: a deleted device's id may be registered again,
        // by someone else, who must not read its previous owner's trail.
        auto d = rt.store->get_device(device_id);
        if (!d)
            return d.error();
        q->since_ms = d->created_at * 1000;
        return rt.store->list_audit(*q);
    });
    if (!entries)
        co_return store_failure(entries.error(), errc::device_not_found);
    // A device.removed entry ends the trail of an earlier device with this id: what is older
    // belongs to it (registered in the same second, it passes the time filter).
    auto removed = std::find_if(entries->begin(), entries->end(),
                                [](store::audit_entry const& e) { return e.action == "device.removed"; });
    if (removed != entries->end()) {
        entries->erase(removed, entries->end());
        co_return page_json(*entries, 0, caller->user_id); // no page after this one
    }
    co_return page_json(*entries, q->limit, caller->user_id);
}

// DELETE /api/account {"password"} → 204. The account's devices are deleted (robots
// disconnected), devices shared with it lose it, every login ends and its app sockets close 4401,
// on every node.
net::awaitable<http_response> delete_account(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto claims = authenticate_claims(auth, ctx);
    if (!claims) co_return claims.take_answer();
    auto const user_id = claims->sub;
    auto body = parse_json_object(ctx.req);
    if (!body) co_return body.take_answer();
    auto password = required_string(*body, "password");
    if (!password) co_return password.take_answer();

    auto account = co_await run_blocking(rt.blocking, [&] { return rt.store->find_user_by_id(user_id); });
    if (!account) {
        if (account.error() == make_error_code(errc::user_not_found))
            co_return error_response(errc::unauthorized, "the account of this access token no longer exists");
        co_return store_failure(account.error());
    }
    // The login throttle guards this password check too: a stolen access token must not become
    // a way to guess the password without limit.
    std::string const email_key = "email:" + account->email;
    auto now = auth::failure_throttle::clock::now();
    if (auto wait = auth.login_failures.check(email_key, now)) {
        auto res = error_response(errc::rate_limited, "too many wrong passwords; try again in " +
                                                          std::to_string(wait->count()) + " seconds");
        res.set(http::field::retry_after, std::to_string(wait->count()));
        co_return res;
    }
    auto verdict = co_await run_blocking(rt.blocking, [&] { return auth.passwords.verify(*password, account->password_hash); });
    if (!verdict.ok) {
        auth.login_failures.record_failure(email_key, now);
        record_audit(rt, ctx.client_address, {user_id, "account.delete_refused", {}, user_id, {{"reason", "wrong_password"}}});
        co_return error_response(errc::invalid_credentials, "the password is wrong; the account was not deleted");
    }

    auto deleted = co_await run_blocking(rt.blocking, [&] { return rt.store->delete_user(user_id); });
    if (!deleted) {
        if (deleted.error() == make_error_code(errc::user_not_found))
            co_return error_response(errc::unauthorized, "the account of this access token no longer exists");
        co_return store_failure(deleted.error());
    }
    // Live access ends as the store's did, on every node. The user's logins first, so their
    // apps close with 4401 (login ended) rather than 4403 (no device left) when the devices go.
    // The caller's own login by its sid too: its token may be from this very second, which a
    // user-wide end (whole seconds) does not reach.
    auth.end_login(user_id, claims->sid);
    auth.end_all_logins(user_id);
    // Owned devices go (their robots and WebRTC sessions with them); shared ones drop the user.
    // A device's member.removed entries come before its device.removed, which closes its trail
    // (GET /api/devices/{id}/audit stops at it).
    boost::json::array device_ids;
    for (auto const& d : deleted->devices) {
        remove_device_everywhere(rt, live, d.device_id, d.user_ids);
        for (auto const& member : d.user_ids)
            if (member != user_id)
                record_audit(rt, ctx.client_address,
                             {user_id, "member.removed", d.device_id, member, {{"reason", "account_deleted"}}});
        record_audit(rt, ctx.client_address, {user_id, "device.removed", d.device_id, {}, {{"reason", "account_deleted"}}});
        device_ids.push_back(boost::json::value(d.device_id));
    }
    for (auto const& device_id : deleted->shared_devices) {
        set_access_everywhere(live, user_id, device_id, std::nullopt);
        record_audit(rt, ctx.client_address, {user_id, "member.removed", device_id, user_id, {{"reason", "account_deleted"}}});
    }
    record_audit(rt, ctx.client_address, {user_id, "account.deleted", {}, user_id, {{"devices", std::move(device_ids)}}});
    rt.log.info("account_deleted", {{"user_id", user_id}, {"devices", deleted->devices.size()}});
    co_return empty_response(http::status::no_content);
}

} // namespace

void add_account_routes(router& r, runtime& rt, auth_service& auth, live_service& live)
{
    r.add(http::verb::get, "/api/account/audit",
          [&rt, &auth](request_context& ctx) { return account_audit(ctx, rt, auth); });
    r.add(http::verb::delete_, "/api/account",
          [&rt, &auth, &live](request_context& ctx) { return delete_account(ctx, rt, auth, live); });
    r.add(http::verb::get, "/api/devices/{id}/audit",
          [&rt, &auth](request_context& ctx) { return device_audit(ctx, rt, auth); });
}

} // namespace relay::server
