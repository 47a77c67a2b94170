#include "server/ws/device_session.hpp"

#include "server/blocking.hpp"
#include "server/services.hpp"
#include "server/turn_credentials.hpp"
#include "server/webrtc.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/protocol/codec.hpp>
#include <relay/protocol/forwarding.hpp>

#include <boost/json/serialize.hpp>

namespace relay::server {
namespace {

/** The key an answer is checked against when the device has none: a valid curve point (RFC 8032
 * TEST 1's public key), so the check costs what a real one does. Its private key is published,
 * which is harmless: a check against the stand-in never authenticates. */
std::string stand_in_public_key()
{
    return std::string("\xd7\x5a\x98\x01\x82\xb1\x0a\xb7\xd5\x4b\xfe\xd3\xc9\x64\x07\x3a"
                       "\x0e\xe1\x72\xf3\xda\xa6\x23\x25\xaf\x02\x1a\x68\xf7\x07\x51\x1a",
                       32);
}

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

device_session::device_session(std::shared_ptr<services> svc, maybe_tls_stream stream, http_request upgrade,
                               std::string client)
    : ws_connection(std::move(svc), std::move(stream), std::move(upgrade), std::move(client), "robot")
{
}

net::awaitable<void> device_session::run()
{
    if (!co_await accept())
        co_return;
    nonce_ = auth::make_nonce();
    enqueue(protocol::encode(protocol::auth_challenge{nonce_}));
    co_await read_loop();

    if (!attached_)
        co_return;
    rt()->metrics.robots_online.sub();
    // Sessions this connection carried end, whether it was replaced or simply left.
    for (auto const& s : live()->webrtc.remove_for_robot(this))
        finish_webrtc_session(*rt(), *live(), s, protocol::closed_by::relay, "robot_disconnected", notify::app);
    // Only the device's current connection announces the disconnect: one replaced by a newer
    // connection (4409) leaves quietly.
    bool const current = live()->hub.detach_robot(device_id_, this);
    if (auto const& cluster = live()->cluster) {
        // Several nodes: the owner record decides. A connection replaced by one on another
        // node is still the hub's here, but no longer the record's: it leaves quietly too.
        cluster->release_robot(device_id_, this, current,
                               [rt = runtime_of(services_), ex = executor(), device_id = device_id_](bool went_offline) {
                                   if (went_offline)
                                       net::post(ex, [rt, device_id] {
                                           call_hook(rt->log, "on_robot_offline", rt->hooks.on_robot_offline, device_id);
                                       });
                               });
    } else if (current) {
        auto now = std::chrono::system_clock::now();
        live()->broker->publish_transient(
            device_id_, std::make_shared<std::string const>(protocol::encode(protocol::presence_event(device_id_, false, now))));
        call_hook(rt()->log, "on_robot_offline", rt()->hooks.on_robot_offline, device_id_);
    }
    if (current) {
        // Commands this robot will never answer now: their senders hear so at once.
        for (auto const& [id, app] : live()->hub.take_all_commands(device_id_))
            app->send(std::make_shared<std::string const>(
                protocol::encode_error(errc::device_offline, "the robot disconnected before answering", id)));
        fail_tunnels("the robot disconnected before answering");
    }
    record_seen(std::nullopt, std::nullopt);
    rt()->log.info("robot_disconnected", {{"device_id", device_id_}, {"client", client_}});
}

void device_session::on_auth_timeout()
{
    fail_auth();
}

void device_session::fail_auth()
{
    rt()->metrics.auth_failures_robot.inc();
    // The same answer for an unknown device, a bad signature, a timeout or a throttled address.
    send_error(errc::unauthorized, "");
    begin_close(protocol::close_code::auth_failed);
}

net::awaitable<void> device_session::on_message(std::string_view text)
{
    if (closing())
        co_return;
    rt()->metrics.messages_in_robot.inc();
    auto decoded = protocol::decode_device_inbound(text, max_message_);
    if (decoded.ok())
        rt()->metrics.robot_in_by_type[decoded.value().index()]->inc();
    if (!is_authenticated()) {
        if (decoded.ok())
            if (auto* a = std::get_if<protocol::device_auth>(&decoded.value())) {
                co_await authenticate(*a);
                co_return;
            }
        rt()->log.info("robot_auth_failed", {{"client", client_}, {"reason", "expected auth"}});
        fail_auth();
        co_return;
    }
    if (!decoded.ok()) {
        auto const& failure = decoded.error();
        send_error(failure.code, failure.message, failure.ref);
        if (failure.ref)
            fail_tunnel_answer(*failure.ref, failure.message);
        co_return;
    }
    std::visit(
        [this](auto const& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::device_auth>)
                send_error(errc::bad_message, "already authenticated");
            else
                handle(m);
        },
        decoded.value());
}

net::awaitable<void> device_session::authenticate(protocol::device_auth const& m)
{
    // A correct signature is always checked and accepted at once, whatever failed before: device
    // ids are no secret, so failures must never lock the real robot (or its NAT neighbours) out.
    bool ok = co_await run_blocking(rt()->blocking, [&] {
        auto dev = rt()->store->get_device(m.device_id);
        // A device answers with its secret's HMAC or, with a key (device_key.hpp), an Ed25519
        // signature; the one it does not use can never authenticate it.
        std::optional<std::string> secret, public_key;
        if (dev && dev->key_type == store::device_key_type::ed25519)
            public_key = auth::parse_device_public_key(dev->public_key);
        else if (dev)
            secret = auth()->device_secrets.open(dev->secret_sealed, m.device_id);
        // Both checks run for every answer, against stand-ins when the device is unknown or uses
        // the other kind, so timing tells neither whether a device exists nor how it authenticates.
        bool const hmac_good = auth::verify_device_signature(secret.value_or(std::string(32, '\0')), nonce_,
                                                             m.device_id, m.signature);
        bool const key_good = auth::verify_device_key_signature(public_key.value_or(stand_in_public_key()), nonce_,
                                                                m.device_id, m.signature);
        return (hmac_good && secret.has_value()) || (key_good && public_key.has_value());
    });
    if (closing())
        co_return; // the auth deadline passed while the store answered
    std::string device_key = "device:" + m.device_id;
    if (!ok) {
        // Guessing is slowed instead: the failure's answer is held back longer the more this
        // address or this device id failed lately, and the read loop waits with it.
        auto now = auth::failure_delay::clock::now();
        auto delay = std::max(auth()->device_failures.record_failure("addr:" + client_, now),
                              auth()->device_failures.record_failure(device_key, now));
        rt()->log.info("robot_auth_failed", {{"client", client_},
                                            {"device_id", m.device_id},
                                            {"reason", "bad credentials"},
                                            {"delay_ms", delay.count()}});
        net::steady_timer pause(executor(), delay);
        co_await pause.async_wait(use_tuple);
        if (!closing())
            fail_auth();
        co_return;
    }
    auth()->device_failures.record_success(device_key);
    device_id_ = m.device_id;
    authenticated();
    std::string().swap(nonce_); // answered: a connection holds nothing it no longer needs

    // Attached before auth_ok is queued: Asio may write it at once, and a robot (or a test) that
    // reacts to auth_ok must already find the device online.
    attached_ = true;
    rt()->metrics.robots_online.add();
    auto previous = live()->hub.attach_robot(device_id_, self());
    enqueue(protocol::encode(protocol::device_auth_ok{protocol::protocol_version, device_id_}));
    if (previous) {
        previous->close(protocol::close_code::replaced);
        // Requests the replaced connection took will never be answered by this one.
        fail_tunnels("the robot reconnected before answering");
    }
    if (auto const& cluster = live()->cluster) {
        // Several nodes: the robot is claimed for this node; robot_connected goes out when no
        // node held it, and a connection on another node is closed there (4409).
        cluster->claim_robot(device_id_, self(), [rt = runtime_of(services_), ex = executor(), device_id = device_id_](bool came_online) {
            if (came_online)
                net::post(ex, [rt, device_id] {
                    call_hook(rt->log, "on_robot_online", rt->hooks.on_robot_online, device_id);
                });
        });
    } else if (!previous) {
        live()->broker->publish_transient(
            device_id_, std::make_shared<std::string const>(
                            protocol::encode(protocol::presence_event(device_id_, true, std::chrono::system_clock::now()))));
        call_hook(rt()->log, "on_robot_online", rt()->hooks.on_robot_online, device_id_);
    }
    record_seen(std::nullopt, std::nullopt);
    rt()->log.info("robot_connected", {{"device_id", device_id_}, {"client", client_}, {"replaced", previous != nullptr}});
}

void device_session::handle(protocol::hello const& m)
{
    record_seen(boost::json::serialize(m.capabilities), m.firmware);
}

void device_session::handle(protocol::robot_event const& m)
{
    auto arrived = std::chrono::steady_clock::now();
    auto ts = std::chrono::system_clock::now();
    // The event is serialized once, around the hole its seq fills: the broker numbers it and
    // completes the frame that every app receiving it shares.
    auto [prefix, suffix] = protocol::encode_around_seq(protocol::forward_to_apps(m, device_id_, 0, ts));
    routing::broker::publish_handler done;
    if (m.id) {
        // Answered once the event is in the history for resume and on its way to every
        // subscriber, so the robot may forget it; possibly on the broker's thread. An event with
        // an id the history still holds is a re-send: nothing is delivered or kept again, and
        // the answer carries the seq it had.
        done = [self = self(), id = *m.id](boost::system::error_code ec, routing::publish_result r) {
            if (ec) {
                // Not kept: no ack, so the robot keeps it and sends it again later.
                self->post_frame(std::make_shared<std::string const>(
                    protocol::encode_error(errc::unavailable, "the event could not be kept; send it again later", id)));
                return;
            }
            self->post_frame(std::make_shared<std::string const>(protocol::encode(protocol::event_ack{id, r.seq})));
            if (r.duplicate) {
                self->rt()->metrics.duplicate_events.inc();
                self->rt()->log.debug("event_duplicate", {{"device_id", self->device_id_}, {"id", id}, {"seq", r.seq}});
            }
        };
    }
    live()->broker->publish(device_id_, m.id, {std::move(prefix), std::move(suffix)}, std::move(done));
    rt()->metrics.routing_latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived).count());
}

void device_session::handle(protocol::robot_command_result const& m)
{
    auto origin = live()->hub.take_command(device_id_, m.id);
    if (!origin) {
        // Unknown, already answered, or its app has gone: nobody is waiting for it.
        rt()->log.debug("command_result_dropped", {{"device_id", device_id_}, {"id", m.id}});
        return;
    }
    origin->send(std::make_shared<std::string const>(protocol::encode(protocol::forward_to_app(m, device_id_))));
    rt()->metrics.messages_routed.inc();
}

void device_session::handle(protocol::ping const&)
{
    enqueue(protocol::encode(protocol::pong{std::nullopt, std::chrono::system_clock::now()}));
}

void device_session::handle(protocol::robot_http_response const& m)
{
    auto waiter = live()->hub.take_tunnel(device_id_, m.id);
    if (!waiter) {
        // Unknown or late (already timed out): nobody is waiting for it.
        rt()->log.debug("http_response_dropped", {{"device_id", device_id_}, {"id", m.id}});
        return;
    }
    waiter->complete(m);
}

void device_session::fail_tunnel_answer(std::string const& id, std::string const& why)
{
    // Tunnel ids are the relay's own, unguessable and known only to this robot: a message that
    // carries one and cannot be decoded is this robot's answer to that request. The caller learns
    // at once instead of waiting for the tunnel timeout.
    auto waiter = live()->hub.take_tunnel(device_id_, id);
    if (!waiter)
        return;
    rt()->log.info("http_response_refused", {{"device_id", device_id_}, {"id", id}, {"reason", why}});
    waiter->fail(errc::device_bad_response, "the robot's answer was refused: " + why);
}

void device_session::handle(protocol::turn_credentials_request const& m)
{
    // The provider may call a remote API: answer from a coroutine of its own, so the robot's
    // events and signaling keep flowing meanwhile. It holds the session alive until it is done.
    net::co_spawn(executor(), send_turn_credentials(self(), m.id), [rt = runtime_of(services_)](std::exception_ptr e) {
        if (e)
            rt->log.error("turn_credentials_failed", {{"what", "exception while issuing TURN credentials"}});
    });
}

net::awaitable<void> device_session::send_turn_credentials(std::shared_ptr<device_session> self,
                                                           std::optional<std::string> ref)
{
    // The same provider call and answer as GET /api/turn/credentials, under the device id.
    auto issued = co_await issue_turn_credentials(*self->rt(), self->device_id_);
    if (!issued) {
        self->send_error(errc::turn_unavailable, issued.error().reason, ref);
        co_return;
    }
    self->enqueue(protocol::encode(protocol::turn_credentials{std::move(*issued), std::move(ref)}));
}

void device_session::signal(bool handled)
{
    if (!handled)
        send_error(errc::session_not_found, "no such WebRTC session on this connection");
}

void device_session::fail_tunnels(std::string const& why)
{
    for (auto const& waiter : live()->hub.take_all_tunnels(device_id_))
        waiter->fail(errc::device_offline, why);
}

void device_session::record_seen(std::optional<std::string> capabilities, std::optional<std::string> firmware)
{
    // Fire and forget on the blocking pool: presence bookkeeping must never hold up routing.
    net::post(rt()->store_writes, [rt = rt(), id = device_id_, caps = std::move(capabilities), fw = std::move(firmware)] {
        auto r = rt->store->record_device_seen(id, unix_now(), caps, fw);
        if (!r)
            rt->log.warn("record_device_seen_failed", {{"device_id", id}, {"error", r.error().message()}});
    });
}

} // namespace relay::server
