// Devices and their members (contract section 2): list, create, read, rename, delete, rotate the
// secret or set a public key (section 8, device keys), share and unshare. Every change that affects live connections is also told to the hub,
// and to every other node's (cluster_sync.hpp).
// docs/api.md describes every answer.
#include "server/api/api_common.hpp"
#include "server/audit.hpp"
#include "server/blocking.hpp"
#include "server/cluster_sync.hpp"
#include "server/http/http_util.hpp"
#include "server/api/api_common.hpp"
#include "server/http/router.hpp"
#include "server/api/routes.hpp"
#include "server/services.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/auth/email.hpp>
#include <relay/protocol/close_code.hpp>
#include <relay/protocol/timestamp.hpp>
#include <relay/protocol/validation.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

namespace relay::server {
namespace {

/** The capabilities a robot announced in `hello`, or {} when it has not (or the text is damaged). */
boost::json::object capabilities_json(std::string const& text)
{
    if (text.empty())
        return {};
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_object())
        return {};
    return std::move(v.as_object());
}

/** A device as GET /api/devices shows it to a user with role `r`: `key_type` to everyone, the
 * public key only to the owner, who manages it (it is no secret, but others have no use for it). */
boost::json::object device_json(store::device const& d, store::role r, bool online)
{
    boost::json::value last_seen = nullptr;
    if (d.last_seen)
        last_seen = protocol::format_timestamp(protocol::timestamp(std::chrono::seconds(*d.last_seen)));
    boost::json::value firmware = nullptr;
    if (d.firmware)
        firmware = *d.firmware;
    boost::json::object out{{"device_id", d.device_id},
                               {"name", d.name},
                               {"role", protocol::to_string(r)},
                               {"online", online},
                               {"last_seen", std::move(last_seen)},
                               {"capabilities", capabilities_json(d.capabilities)},
                               {"firmware", std::move(firmware)},
                               {"created_at", d.created_at},
                               {"key_type", store::key_type_name(d.key_type)}};
    if (r == store::role::owner && d.key_type == store::device_key_type::ed25519)
        out["public_key"] = d.public_key;
    return out;
}

/** 200 with the device as a caller with role `r` sees it, or the store's failure (404 when the
 * device went away meanwhile). */
net::awaitable<http_response> device_answer(live_service& live, store::result<store::device> const& d, store::role r)
{
    if (!d)
        co_return store_failure(d.error(), errc::device_not_found);
    std::vector<std::string> ids{d->device_id};
    auto online = co_await online_everywhere(live, std::move(ids));
    co_return json_response(http::status::ok, device_json(*d, r, online.front()));
}

/** A member as the sharing endpoints show it. */
boost::json::object member_json(std::string const& user_id, std::string const& email, store::role r)
{
    return boost::json::object{{"user_id", user_id}, {"email", email}, {"role", protocol::to_string(r)}};
}

/** An owner's change to a device: its body, once the caller is known to own the device. */
struct owner_change {
    std::string user_id; ///< the owner who asks
    boost::json::object body;
};

/** authorize_device() as the owner, then the JSON body (401, 404 or 403, then 400). */
net::awaitable<or_answer<owner_change>> owner_change_of(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::owner);
    if (!caller)
        co_return caller.take_answer();
    auto body = parse_json_object(ctx.req);
    if (!body)
        co_return body.take_answer();
    co_return owner_change{std::move(caller->user_id), std::move(*body)};
}

/** The `name` of a create or rename body (protocol::is_valid_device_name). */
or_answer<std::string> device_name(boost::json::object const& body)
{
    auto name = required_string(body, "name");
    if (!name)
        return name;
    if (!protocol::is_valid_device_name(*name))
        return error_response(errc::bad_message,
                              "field 'name' must be 1 to 128 bytes, not blank, without control characters or "
                              "invisible direction marks (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069)");
    return name;
}

/** The `public_key` of a body, parsed (auth::parse_device_public_key) and in the stored form
 * (base64url of the raw 32 bytes, whichever form was sent). */
or_answer<std::string> public_key_of(boost::json::object const& body)
{
    auto text = required_string(body, "public_key");
    if (!text)
        return text;
    auto raw = auth::parse_device_public_key(*text);
    if (!raw)
        return error_response(errc::bad_message,
                              "field 'public_key' must be an Ed25519 public key: base64url without padding of its 32 "
                              "raw bytes (43 characters), or a PEM \"PUBLIC KEY\"");
    return auth::device_public_key_text(*raw);
}

/** Whether a create body asks for a key: `public_key` given. Asking for a secret as well (a
 * `device_secret`, or `key_type` "secret") is refused, as is `key_type` "ed25519" without a key:
 * a device authenticates one way. */
or_answer<bool> wants_key(boost::json::object const& body)
{
    auto key_type = optional_string(body, "key_type");
    if (!key_type)
        return key_type.take_answer();
    if (*key_type && **key_type != "secret" && **key_type != "ed25519")
        return error_response(errc::bad_message, "field 'key_type' must be \"secret\" or \"ed25519\"");
    bool const key = body.contains("public_key");
    if (key && (body.contains("device_secret") || (*key_type && **key_type == "secret")))
        return error_response(errc::bad_message,
                              "a device authenticates with a public key or a secret, not both: leave out "
                              "'public_key' to get a secret, or 'device_secret'/'key_type' to register the key");
    if (!key && *key_type && **key_type == "ed25519")
        return error_response(errc::bad_message, "key_type \"ed25519\" needs field 'public_key'");
    return key;
}

// GET /api/devices → [device…] for every device the caller may access.
net::awaitable<http_response> list_devices(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto user = authenticate(auth, ctx);
    if (!user) co_return user.take_answer();
    auto devices = co_await run_blocking(rt.blocking, [&] { return rt.store->list_devices_for_user(*user); });
    if (!devices)
        co_return store_failure(devices.error());
    // One round trip to the cluster for the whole list, not one per device.
    std::vector<std::string> ids;
    ids.reserve(devices->size());
    for (auto const& d : *devices)
        ids.push_back(d.device.device_id);
    auto online = co_await online_everywhere(live, std::move(ids));
    boost::json::array out;
    out.reserve(devices->size());
    for (std::size_t i = 0; i < devices->size(); ++i)
        out.push_back(device_json((*devices)[i].device, (*devices)[i].access, online[i]));
    co_return json_response(http::status::ok, out);
}

// POST /api/devices {"name","device_id"?} → 201 {"device_id","name","device_secret"}, or with
// {"public_key"} → 201 {"device_id","name","key_type":"ed25519"} and no secret at all.
net::awaitable<http_response> create_device(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto user = authenticate(auth, ctx);
    if (!user) co_return user.take_answer();
    auto body = parse_json_object(ctx.req);
    if (!body) co_return body.take_answer();
    auto name = device_name(*body);
    if (!name) co_return name.take_answer();
    auto requested_id = optional_string(*body, "device_id");
    if (!requested_id) co_return requested_id.take_answer();
    auto key = wants_key(*body);
    if (!key) co_return key.take_answer();
    std::optional<std::string> public_key;
    if (*key) {
        auto parsed = public_key_of(*body);
        if (!parsed) co_return parsed.take_answer();
        public_key = std::move(*parsed);
    }

    std::string device_id;
    if (*requested_id) {
        device_id = std::move(**requested_id);
        if (!protocol::is_valid_device_id(device_id))
            co_return error_response(errc::bad_message,
                                     "field 'device_id' must be 1 to 64 characters from A-Z a-z 0-9 . _ -, not . or ..");
    } else {
        auto generated = auth::random_id("dev-");
        if (!generated)
            co_return store_failure(generated.error());
        device_id = std::move(*generated);
    }

    // Shown once, here; only the sealed form is stored. A key device has no secret at all.
    std::string secret;
    store::device d;
    d.device_id = device_id;
    d.name = *name;
    d.created_at = unix_now();
    if (public_key) {
        d.key_type = store::device_key_type::ed25519;
        d.public_key = *public_key;
    } else {
        secret = auth::generate_device_secret();
        d.secret_sealed = auth.device_secrets.seal(secret, device_id);
    }
    auto created = co_await run_blocking(rt.blocking, [&] { return rt.store->create_device(d, *user); });
    if (!created) {
        if (created.error() == make_error_code(errc::user_not_found))
            co_return error_response(errc::unauthorized, "the account of this access token no longer exists");
        co_return store_failure(created.error(), errc::device_exists);
    }
    rt.log.info("device_created",
                {{"device_id", device_id}, {"user_id", *user}, {"key_type", store::key_type_name(d.key_type)}});
    record_audit(rt, ctx.client_address,
                 {*user, "device.added", device_id, {}, {{"name", *name}, {"key_type", store::key_type_name(d.key_type)}}});
    if (public_key)
        co_return json_response(http::status::created,
                                boost::json::object{{"device_id", device_id}, {"name", *name}, {"key_type", "ed25519"}});
    co_return json_response(http::status::created,
                            boost::json::object{{"device_id", device_id}, {"name", *name}, {"device_secret", secret}});
}

// GET /api/devices/{id} → device (any role)
net::awaitable<http_response> get_device(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::viewer);
    if (!caller) co_return caller.take_answer();
    auto d = co_await run_blocking(rt.blocking, [&] { return rt.store->get_device(device_id); });
    co_return co_await device_answer(live, d, caller->role);
}

// PATCH /api/devices/{id} {"name"} → 200 device (owner)
net::awaitable<http_response> rename_device(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto change = co_await owner_change_of(ctx, rt, auth);
    if (!change) co_return change.take_answer();
    auto name = device_name(change->body);
    if (!name) co_return name.take_answer();

    auto d = co_await run_blocking(rt.blocking, [&]() -> store::result<store::device> {
        if (auto r = rt.store->rename_device(device_id, *name); !r)
            return r.error();
        return rt.store->get_device(device_id);
    });
    if (d)
        record_audit(rt, ctx.client_address, {change->user_id, "device.renamed", device_id, {}, {{"name", *name}}});
    co_return co_await device_answer(live, d, store::role::owner);
}

// DELETE /api/devices/{id} → 204 (owner); the robot is disconnected and every app loses it.
net::awaitable<http_response> delete_device(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::owner);
    if (!caller) co_return caller.take_answer();

    // Who had access is collected first: after the delete the store no longer knows.
    auto users = co_await run_blocking(rt.blocking, [&]() -> store::result<std::vector<std::string>> {
        auto access = rt.store->users_with_access(device_id);
        if (!access)
            return access.error();
        if (auto r = rt.store->delete_device(device_id); !r)
            return r.error();
        std::vector<std::string> ids;
        for (auto const& a : *access)
            ids.push_back(a.user_id);
        return ids;
    });
    if (!users)
        co_return store_failure(users.error(), errc::device_not_found);
    remove_device_everywhere(rt, live, device_id, *users);
    rt.log.info("device_deleted", {{"device_id", device_id}, {"user_id", caller->user_id}});
    record_audit(rt, ctx.client_address, {caller->user_id, "device.removed", device_id});
    co_return empty_response(http::status::no_content);
}

// POST /api/devices/{id}/secret → 200 {"device_id","device_secret"} (owner); a connected robot
// is disconnected and must authenticate with the new secret. A key device goes back to a secret
// and its key stops working (the store drops it in the same statement).
net::awaitable<http_response> rotate_secret(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::owner);
    if (!caller) co_return caller.take_answer();

    auto secret = auth::generate_device_secret();
    auto sealed = auth.device_secrets.seal(secret, device_id);
    auto stored = co_await run_blocking(rt.blocking, [&] { return rt.store->set_device_secret(device_id, sealed); });
    if (!stored)
        co_return store_failure(stored.error(), errc::device_not_found);
    // A robot authenticated with the old secret must not stay connected on it.
    close_robot_everywhere(live, device_id, protocol::close_code::auth_failed);
    rt.log.info("device_secret_rotated", {{"device_id", device_id}, {"user_id", caller->user_id}});
    record_audit(rt, ctx.client_address, {caller->user_id, "device.secret_rotated", device_id});
    co_return json_response(http::status::ok,
                            boost::json::object{{"device_id", device_id}, {"device_secret", secret}});
}

// PUT /api/devices/{id}/key {"public_key"} → 200 {"device_id","key_type":"ed25519","public_key"}
// (owner); sets or replaces the key and drops any secret, and a connected robot is disconnected:
// from now on only a signature under this key authenticates.
net::awaitable<http_response> set_key(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto change = co_await owner_change_of(ctx, rt, auth);
    if (!change) co_return change.take_answer();
    auto public_key = public_key_of(change->body);
    if (!public_key) co_return public_key.take_answer();

    auto stored = co_await run_blocking(rt.blocking, [&] { return rt.store->set_device_key(device_id, *public_key); });
    if (!stored)
        co_return store_failure(stored.error(), errc::device_not_found);
    // As for a rotation: a robot authenticated with the old secret or key must not stay on it.
    close_robot_everywhere(live, device_id, protocol::close_code::auth_failed);
    rt.log.info("device_key_set", {{"device_id", device_id}, {"user_id", change->user_id}});
    record_audit(rt, ctx.client_address, {change->user_id, "device.key_set", device_id, {}, {{"key_type", "ed25519"}}});
    co_return json_response(http::status::ok, boost::json::object{{"device_id", device_id},
                                                                  {"key_type", "ed25519"},
                                                                  {"public_key", *public_key}});
}

// GET /api/devices/{id}/members → [{"user_id","email","role"}…], owner first (owner)
net::awaitable<http_response> list_members(request_context& ctx, runtime& rt, auth_service& auth)
{
    auto const& device_id = ctx.param("id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::owner);
    if (!caller) co_return caller.take_answer();
    auto members = co_await run_blocking(rt.blocking, [&] { return rt.store->list_members(device_id); });
    if (!members)
        co_return store_failure(members.error(), errc::device_not_found);
    boost::json::array out;
    for (auto const& m : *members)
        out.push_back(member_json(m.user_id, m.email, m.access));
    co_return json_response(http::status::ok, out);
}

// POST /api/devices/{id}/members {"email","role"} → 201 member (added) or 200 member (role
// changed) (owner); role is viewer or operator.
net::awaitable<http_response> add_member(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto change = co_await owner_change_of(ctx, rt, auth);
    if (!change) co_return change.take_answer();
    auto email_in = required_string(change->body, "email");
    if (!email_in) co_return email_in.take_answer();
    auto role_in = required_string(change->body, "role");
    if (!role_in) co_return role_in.take_answer();
    auto granted = protocol::from_string<protocol::role>(*role_in);
    if (!granted || *granted == store::role::owner)
        co_return error_response(errc::bad_message, "field 'role' must be \"viewer\" or \"operator\"");
    auto email = auth::normalize_email(*email_in);

    struct added {
        store::user member;
        std::optional<store::role> previous;
    };
    auto result = co_await run_blocking(rt.blocking, [&]() -> store::result<added> {
        auto member = rt.store->find_user_by_email(email);
        if (!member)
            return member.error();
        auto previous = rt.store->role_of(member->id, device_id);
        if (!previous)
            return previous.error();
        if (auto r = rt.store->add_member(device_id, member->id, *granted); !r)
            return r.error();
        return added{std::move(*member), *previous};
    });
    if (!result) {
        auto ec = result.error();
        if (ec == make_error_code(errc::user_not_found))
            co_return error_response(errc::user_not_found, "no account has this email; they must register first");
        if (ec == make_error_code(errc::forbidden))
            co_return error_response(errc::bad_message, "the owner's role cannot be changed");
        co_return store_failure(ec, errc::device_not_found);
    }
    // Live app connections of that user start (or keep) receiving the device's events now.
    set_access_everywhere(live, result->member.id, device_id, *granted);
    rt.log.info("device_shared", {{"device_id", device_id},
                                  {"user_id", result->member.id},
                                  {"role", protocol::to_string(*granted)}});
    if (!result->previous)
        record_audit(rt, ctx.client_address,
                     {change->user_id, "member.added", device_id, result->member.id,
                      {{"role", protocol::to_string(*granted)}}});
    else if (*result->previous != *granted)
        record_audit(rt, ctx.client_address,
                     {change->user_id, "member.role_changed", device_id, result->member.id,
                      {{"from", protocol::to_string(*result->previous)}, {"role", protocol::to_string(*granted)}}});
    co_return json_response(result->previous ? http::status::ok : http::status::created,
                            member_json(result->member.id, result->member.email, *granted));
}

// DELETE /api/devices/{id}/members/{user_id} → 204 (owner); the owner cannot be removed.
net::awaitable<http_response> remove_member(request_context& ctx, runtime& rt, auth_service& auth, live_service& live)
{
    auto const& device_id = ctx.param("id");
    auto const& member_id = ctx.param("user_id");
    auto caller = co_await authorize_device(ctx, rt, auth, store::role::owner);
    if (!caller) co_return caller.take_answer();

    auto removed = co_await run_blocking(rt.blocking, [&] { return rt.store->remove_member(device_id, member_id); });
    if (!removed) {
        auto ec = removed.error();
        if (ec == make_error_code(errc::forbidden))
            co_return error_response(errc::bad_message,
                                     "the owner cannot be removed from the device; delete the device instead");
        if (ec == make_error_code(errc::user_not_found))
            co_return error_response(errc::user_not_found, "this user is not a member of the device");
        co_return store_failure(ec, errc::device_not_found);
    }
    // Live app connections of that user stop receiving the device's events at once.
    set_access_everywhere(live, member_id, device_id, std::nullopt);
    rt.log.info("device_unshared", {{"device_id", device_id}, {"user_id", member_id}});
    record_audit(rt, ctx.client_address, {caller->user_id, "member.removed", device_id, member_id});
    co_return empty_response(http::status::no_content);
}

} // namespace

void add_device_routes(router& r, runtime& rt, auth_service& auth, live_service& live)
{
    // Each handler is given the services its signature names.
    auto with_live = [&](auto handler) {
        return [&rt, &auth, &live, handler](request_context& ctx) { return handler(ctx, rt, auth, live); };
    };
    auto without_live = [&](auto handler) {
        return [&rt, &auth, handler](request_context& ctx) { return handler(ctx, rt, auth); };
    };
    r.add(http::verb::get, "/api/devices", with_live(list_devices));
    r.add(http::verb::post, "/api/devices", without_live(create_device));
    r.add(http::verb::get, "/api/devices/{id}", with_live(get_device));
    r.add(http::verb::patch, "/api/devices/{id}", with_live(rename_device));
    r.add(http::verb::delete_, "/api/devices/{id}", with_live(delete_device));
    r.add(http::verb::post, "/api/devices/{id}/secret", with_live(rotate_secret));
    r.add(http::verb::put, "/api/devices/{id}/key", with_live(set_key));
    r.add(http::verb::get, "/api/devices/{id}/members", without_live(list_members));
    r.add(http::verb::post, "/api/devices/{id}/members", with_live(add_member));
    r.add(http::verb::delete_, "/api/devices/{id}/members/{user_id}", with_live(remove_member));
}

} // namespace relay::server
