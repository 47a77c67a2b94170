#include "server/ws/app_session.hpp"
#include "server/ws/delivery_inbox.hpp"

#include "server/api/api_common.hpp"
#include "server/blocking.hpp"
#include "server/cluster_sync.hpp"
#include "server/http/http_util.hpp"
#include "server/services.hpp"
#include "server/tunnel.hpp"
#include "server/webrtc.hpp"

#include <relay/protocol/codec.hpp>
#include <relay/protocol/forwarding.hpp>

#include <boost/url/parse.hpp>

namespace relay::server {

app_session::app_session(std::shared_ptr<services> svc, maybe_tls_stream stream, http_request upgrade,
                         std::string client)
    : ws_connection(std::move(svc), std::move(stream), std::move(upgrade), std::move(client), "app"),
      webrtc_bucket_(rt()->options.webrtc_requests_per_minute / 60.0, rt()->options.webrtc_requests_per_minute),
      inbox_(net::use_service<delivery_inbox>(context()))
{
}

net::awaitable<void> app_session::run()
{
    // A token may come with the upgrade (header or ?token=); otherwise the first message must
    // be `auth` within the auth deadline.
    std::string token(bearer_token(upgrade_request()));
    if (token.empty()) {
        auto const& raw = upgrade_request().target();
        auto target = boost::urls::parse_origin_form(std::string_view(raw.data(), raw.size()));
        if (target && target->has_query())
            token = query_param(target->encoded_query(), "token").value_or("");
    }
    if (!co_await accept())
        co_return;
    if (!token.empty())
        co_await authenticate(token);
    co_await read_loop();

    if (node_conn_id_ != 0)
        live()->cross_node->forget_connection(node_conn_id_);
    if (attached_) {
        end_my_sessions({}, "app_disconnected");
        std::vector<std::string> ids;
        for (auto const& [id, d] : devices_)
            ids.push_back(id);
        live()->hub.detach_app(user_id_, this, ids);
        rt()->metrics.apps_connected.sub();
        rt()->log.info("app_disconnected", {{"user_id", user_id_}, {"client", client_}});
    }
}

void app_session::on_auth_timeout()
{
    fail_auth(errc::unauthorized, "authentication timed out: send {\"type\":\"auth\",\"token\":…} first");
}

void app_session::fail_auth(errc code, std::string_view message, std::optional<std::string_view> ref)
{
    rt()->metrics.auth_failures_app.inc();
    rt()->log.info("app_auth_failed", {{"client", client_}, {"code", wire_name(code)}});
    send_error(code, message, ref);
    begin_close(protocol::close_code::auth_failed);
}

std::optional<auth::jwt_claims> app_session::check_token(std::string const& token, bool renewal)
{
    auto claims = auth()->verify_access_claims(token);
    // The verifier's leeway is for other clocks; the relay ends a socket at exp by its own, so
    // a token it would end at once is not taken in the first place.
    auto const expired = claims ? claims->exp <= unix_now() : claims.error() == make_error_code(errc::token_expired);
    if (claims && !expired)
        return std::move(*claims);
    auto const code = expired ? errc::token_expired : errc::unauthorized;
    std::string message = expired ? "the access token has expired" : "invalid access token";
    if (renewal) {
        send_error(code, message + "; this connection still ends when its current token expires");
        return std::nullopt;
    }
    fail_auth(code, message);
    return std::nullopt;
}

net::awaitable<void> app_session::authenticate(std::string const& token)
{
    auto claims = check_token(token, false);
    if (!claims)
        co_return;
    user_id_ = claims->sub;
    follow_token(*claims);
    authenticated();

    // Registered before the devices are read, so a share or unshare that lands meanwhile is
    // not lost: it is applied on top of what the store says (changes_while_loading_).
    loading_devices_ = true;
    attached_ = true;
    rt()->metrics.apps_connected.add();
    live()->hub.attach_app(user_id_, self(), {});
    // A logout or reset between the check above and attach_app found no socket to tell; the
    // ended-logins list, written before the hub is told, says so now.
    if (auth()->ended_logins.covers(*claims, std::chrono::system_clock::now())) {
        fail_auth(errc::unauthorized, "this login has ended; log in again");
        co_return;
    }
    auto listed = co_await run_blocking(rt()->blocking, [&] { return rt()->store->list_devices_for_user(user_id_); });
    loading_devices_ = false;
    if (!listed) {
        send_error(errc::internal, "could not read your devices; try again");
        begin_close(protocol::close_code::service_restart);
        co_return;
    }
    std::vector<std::string> ids;
    for (auto const& a : *listed) {
        devices_[a.device.device_id] = device_state{a.access, 0, 0};
        ids.push_back(a.device.device_id);
    }
    for (auto const& id : ids)
        live()->broker->subscribe(id, self());
    for (auto& [id, role] : changes_while_loading_)
        apply_access(id, role);
    changes_while_loading_.clear();

    protocol::app_auth_ok ok;
    ok.user_id = user_id_;
    for (auto const& a : *listed) {
        if (!devices_.count(a.device.device_id))
            continue;
        ok.devices.push_back({a.device.device_id, a.device.name, devices_[a.device.device_id].role,
                              live()->hub.online(a.device.device_id)});
    }
    if (live()->cluster) {
        // Robots on other nodes count too: one round trip to the cluster for every device. (One
        // process skips the extra coroutine frame: its allocation, freed again at once, cost 0.1
        // KB per idle connection in heap holes.)
        std::vector<std::string> listed_ids;
        for (auto const& d : ok.devices)
            listed_ids.push_back(d.device_id);
        auto online = co_await online_everywhere(*live(), std::move(listed_ids));
        for (std::size_t i = 0; i < ok.devices.size(); ++i)
            ok.devices[i].online = online[i];
    }
    enqueue(protocol::encode(ok));
    rt()->log.info("app_connected", {{"user_id", user_id_}, {"client", client_}, {"devices", ok.devices.size()}});
    call_hook(rt()->log, "on_app_connected", rt()->hooks.on_app_connected, user_id_);
}

net::awaitable<void> app_session::on_message(std::string_view text)
{
    if (closing())
        co_return;
    rt()->metrics.messages_in_app.inc();
    auto decoded = protocol::decode_app_inbound(text, max_message_);
    if (decoded.ok())
        rt()->metrics.app_in_by_type[decoded.value().index()]->inc();
    if (!is_authenticated()) {
        if (decoded.ok()) {
            if (auto* a = std::get_if<protocol::app_auth>(&decoded.value())) {
                co_await authenticate(a->token);
                co_return;
            }
        }
        fail_auth(errc::unauthorized, "authenticate first: send {\"type\":\"auth\",\"token\":…}");
        co_return;
    }
    if (!decoded.ok()) {
        auto const& failure = decoded.error();
        send_error(failure.code, failure.message, failure.ref);
        co_return;
    }
    std::visit(
        [this](auto const& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::app_auth>)
                renew(m.token);
            else
                handle(m);
        },
        decoded.value());
}

void app_session::renew(std::string const& token)
{
    auto claims = check_token(token, true);
    if (!claims)
        return;
    if (claims->sub != user_id_) {
        send_error(errc::unauthorized, "the token is another user's; a connection keeps its user, and still ends "
                                       "when its current token expires");
        return;
    }
    // From now on the socket belongs to the new token's login and ends at its expiry.
    follow_token(*claims);
    enqueue(protocol::encode(protocol::auth_renewed{claims->exp}));
    rt()->log.debug("app_auth_renewed", {{"user_id", user_id_}, {"client", client_}, {"expires_at", claims->exp}});
}

void app_session::follow_token(auth::jwt_claims const& claims)
{
    login_id_ = claims.sid;
    token_expires_at_ = claims.exp;
    watch_token_expiry();
}

void app_session::watch_token_expiry()
{
    auto const left = std::chrono::seconds(std::max<std::int64_t>(token_expires_at_ - unix_now(), 0));
    set_deadline(std::chrono::steady_clock::now() + left);
}

void app_session::on_deadline()
{
    if (closing())
        return;
    // Early by the wall clock (set back, or a second's rounding): wait for the expiry again.
    if (unix_now() < token_expires_at_) {
        watch_token_expiry();
        return;
    }
    rt()->log.info("app_token_expired", {{"user_id", user_id_}, {"client", client_}});
    send_error(errc::token_expired, "the access token has expired: renew it on the socket with "
                                    "{\"type\":\"auth\",\"token\":…} before it does, or reconnect with a fresh one "
                                    "and resume");
    begin_close(protocol::close_code::auth_failed);
}

void app_session::login_ended(std::string const& login_id)
{
    inbox_.push({delivery_inbox::item::kind::login_end, self(), login_id, {}, {}}, false, executor());
}

void app_session::on_login_ended(std::string const& login_id)
{
    if (closing() || (!login_id.empty() && login_id != login_id_))
        return;
    rt()->log.info("app_login_ended", {{"user_id", user_id_}, {"client", client_}});
    send_error(errc::unauthorized, "your login ended (logout, password reset or a revoked refresh token): "
                                   "log in again");
    begin_close(protocol::close_code::auth_failed);
}

std::uint64_t app_session::node_conn_id()
{
    if (node_conn_id_ == 0)
        node_conn_id_ = live()->cross_node->connection_id(std::weak_ptr<routing::app_link>(self()));
    return node_conn_id_;
}

app_session::device_state* app_session::accessible(std::string const& device_id, std::optional<std::string_view> ref)
{
    auto it = devices_.find(device_id);
    if (it == devices_.end()) {
        send_error(errc::device_not_found, "no such device", ref);
        return nullptr;
    }
    return &it->second;
}

void app_session::handle(protocol::app_command const& m)
{
    auto* d = accessible(m.device_id, m.id);
    if (!d)
        return;
    if (!protocol::role_allows(d->role, protocol::role::operator_)) {
        send_error(errc::forbidden, "viewers cannot send commands", m.id);
        return;
    }
    auto robot = live()->hub.robot(m.device_id);
    if (!robot && live()->cross_node) {
        // The robot may be on another node: its node registers the command and answers.
        std::function<void()> accepted;
        if (rt()->hooks.on_command)
            accepted = [self = self(), m] {
                // Once the robot's node has queued it, on this connection's thread as hooks are.
                net::post(self->executor(), [self, m] {
                    call_hook(self->rt()->log, "on_command", self->rt()->hooks.on_command, self->user_id_, m);
                });
            };
        live()->cross_node->send_command(node_conn_id(), m.device_id, m.id,
                                         protocol::encode(protocol::forward_to_robot(m, user_id_)),
                                         std::move(accepted));
        rt()->metrics.messages_routed.inc();
        return;
    }
    if (!robot) {
        send_error(errc::device_offline, "the robot is not connected", m.id);
        return;
    }
    if (!live()->hub.register_command(m.device_id, m.id, std::weak_ptr<routing::app_link>(self()))) {
        send_error(errc::bad_message, "a command with this id is already pending for this device", m.id);
        return;
    }
    robot->send(std::make_shared<std::string const>(protocol::encode(protocol::forward_to_robot(m, user_id_))));
    rt()->metrics.messages_routed.inc();
    enqueue(protocol::encode(protocol::ack{m.id, m.device_id}));
    call_hook(rt()->log, "on_command", rt()->hooks.on_command, user_id_, m);
}

namespace {
// A replay page is at most a quarter of the slow-consumer limits, and the next one is queued
// once the send queue is down to a quarter again: the replay never fills more than half the
// queue, and leaves the rest to live traffic of the app's other devices.
std::size_t replay_share(std::size_t limit)
{
    return std::max<std::size_t>(1, limit / 4);
}
} // namespace

void app_session::handle(protocol::resume const& m)
{
    auto* d = accessible(m.device_id, std::nullopt);
    if (!d)
        return;
    if (d->replay != 0) {
        send_error(errc::bad_message, "a resume of this device is already in progress; wait for its resumed");
        return;
    }
    replay_progress p;
    p.id = ++replays_started_;
    p.after_seq = m.after_seq;
    p.cursor = m.after_seq;
    d->replay = p.id;
    d->held_back = 0;
    // The history may be a round trip away (Redis): the replay runs beside the read loop, a
    // page at a time, paced by the send queue.
    net::co_spawn(executor(), replay(self(), m.device_id, p), [rt = runtime_of(services_)](std::exception_ptr e) {
        if (e)
            rt->log.error("replay_failed", {{"what", "exception while replaying events for resume"}});
    });
}

namespace {

/** A history() answer waited for by a coroutine, handed over on the coroutine's thread. */
struct history_answer {
    explicit history_answer(net::any_io_executor ex) : ready_timer(std::move(ex), net::steady_timer::time_point::max()) {}
    net::steady_timer ready_timer; // cancelled when the answer is in
    bool ready = false;
    boost::system::error_code ec;
    routing::history_result result;
};

} // namespace

bool app_session::replay_page(std::string const& device_id, device_state& d, replay_progress& p,
                              routing::history_result const& page)
{
    // Every page must be complete: one that is not found events gone since the last page.
    p.complete = p.complete && page.complete;
    std::uint64_t replayed = 0;
    for (auto const& msg : page.messages) {
        bool already_sent = d.first_sent != 0 && msg.seq >= d.first_sent && msg.seq <= d.last_sent;
        if (!p.first)
            p.first = msg.seq;
        p.cursor = msg.seq;
        if (already_sent)
            continue;
        enqueue(msg.frame);
        ++replayed;
    }
    rt()->metrics.replayed_events.inc(replayed);
    if (!page.messages.empty() && p.cursor < page.last_seq)
        return false;
    // Live events held back while this page was fetched are in the history: fetch them too.
    if (d.held_back > std::max(p.cursor, page.last_seq))
        return false;
    // Everything up to the channel's newest seq is now either sent or reported lost, so later
    // live deliveries of those seqs (already queued to this thread) are dropped as repeats.
    auto newest = std::max(page.last_seq, d.held_back);
    if (newest > p.after_seq) {
        if (d.first_sent == 0 || p.after_seq + 1 < d.first_sent)
            d.first_sent = p.after_seq + 1;
        d.last_sent = std::max(d.last_sent, newest);
    }
    d.replay = 0;
    d.held_back = 0;
    protocol::resumed r;
    r.device_id = device_id;
    // page.last_seq is 0 when the device's channel was dropped (deleted) between pages.
    r.to_seq = std::max({newest, p.after_seq, p.cursor});
    r.from_seq = p.first.value_or(r.to_seq + 1);
    r.complete = p.complete;
    enqueue(protocol::encode(r));
    return true;
}

net::awaitable<void> app_session::replay(std::shared_ptr<app_session> self, std::string device_id, replay_progress p)
{
    auto const& o = self->rt()->options;
    routing::history_page const page_size{replay_share(o.send_queue_max_messages), replay_share(o.send_queue_max_bytes)};
    for (;;) {
        if (!co_await self->wait_for_room(page_size.max_messages, page_size.max_bytes))
            co_return; // the connection is closing: nobody to replay to
        auto answer = std::make_shared<history_answer>(self->executor());
        self->live()->broker->history(device_id, p.cursor, page_size,
                                      [answer](boost::system::error_code ec, routing::history_result r) {
                                          // Possibly on the broker's thread: hand over on ours.
                                          auto ex = answer->ready_timer.get_executor();
                                          net::post(ex, [answer, ec, r = std::move(r)]() mutable {
                                              answer->ec = ec;
                                              answer->result = std::move(r);
                                              answer->ready = true;
                                              answer->ready_timer.cancel();
                                          });
                                      });
        while (!answer->ready)
            co_await answer->ready_timer.async_wait(use_tuple);
        if (self->closing())
            co_return;
        auto it = self->devices_.find(device_id);
        if (it == self->devices_.end()) {
            self->send_error(errc::device_not_found, "no such device");
            co_return; // access was removed meanwhile
        }
        if (it->second.replay != p.id || answer->ec) {
            // Access was removed and given again meanwhile (live events flow again), or the
            // history is out of reach: the replay stops where it is and says it did not get
            // everything.
            if (it->second.replay == p.id) {
                it->second.replay = 0;
                it->second.held_back = 0;
            }
            protocol::resumed r;
            r.device_id = device_id;
            r.to_seq = std::max(p.cursor, p.after_seq);
            r.from_seq = p.first.value_or(r.to_seq + 1);
            r.complete = false;
            self->enqueue(protocol::encode(r));
            co_return;
        }
        if (self->replay_page(device_id, it->second, p, answer->result))
            co_return;
    }
}

void app_session::handle(protocol::ping const& m)
{
    enqueue(protocol::encode(protocol::pong{m.id, std::chrono::system_clock::now()}));
}

void app_session::handle(protocol::app_http_request const& m)
{
    auto* d = accessible(m.device_id, m.id);
    if (!d)
        return;
    auto req = std::make_shared<tunnel_request>();
    req->device_id = m.device_id;
    req->user_id = user_id_;
    req->role = d->role;
    req->method = m.method;
    req->path = m.path;
    req->query = m.query;
    req->headers = m.headers;
    req->body = m.body;
    req->body_b64 = m.body_b64;
    // The answer may take seconds: it must not hold up this connection's other messages.
    net::co_spawn(executor(), tunnel(self(), std::move(req), m.id), [rt = runtime_of(services_)](std::exception_ptr e) {
        if (e)
            rt->log.error("tunnel_failed", {{"what", "exception in socket tunnel call"}});
    });
}

net::awaitable<void> app_session::tunnel(std::shared_ptr<app_session> self, std::shared_ptr<tunnel_request> req,
                                         std::string id)
{
    auto outcome = co_await tunnel_call(*self->rt(), *self->live(), *req);
    if (!outcome.response) {
        self->send_error(outcome.code, outcome.message, id);
        co_return;
    }
    auto answer = protocol::forward_to_app(*outcome.response, req->device_id);
    answer.id = id;
    self->rt()->metrics.messages_routed.inc();
    self->enqueue(protocol::encode(answer));
}

void app_session::handle(protocol::app_webrtc_request const& m)
{
    std::optional<std::string_view> ref = m.id;
    // Any role may watch: viewers included.
    if (!accessible(m.device_id, ref))
        return;
    if (!webrtc_bucket_.try_take()) {
        rt()->metrics.rate_limited.inc();
        send_error(errc::rate_limited, "too many webrtc_request messages; try again in a minute", ref);
        return;
    }
    auto robot = live()->hub.robot(m.device_id);
    if (!robot && !live()->cross_node) {
        send_error(errc::device_offline, "the robot is not connected", ref);
        return;
    }
    // A robot on another node gets a proxy end here; its node checks that it is online.
    auto id = robot ? live()->webrtc.create(m.device_id, user_id_, std::weak_ptr<routing::app_link>(self()), robot,
                                           std::chrono::steady_clock::now(), m.replaces)
                    : live()->cross_node->create_webrtc(m.device_id, user_id_, std::weak_ptr<routing::app_link>(self()),
                                                        m.replaces);
    if (!id && id.error() == make_error_code(errc::session_not_found)) {
        send_error(errc::session_not_found, "replaces names no live WebRTC session of this connection with this device",
                   ref);
        return;
    }
    if (!id) {
        rt()->metrics.registry
            .get_counter("relay_webrtc_failures_total", "WebRTC sessions whose ends reported failure.",
                         {{"reason", "session_limit"}})
            .inc();
        send_error(errc::session_limit, "this robot already has its maximum of WebRTC sessions", ref);
        return;
    }
    net::co_spawn(executor(), start_webrtc(self(), *id, m, robot == nullptr), [rt = runtime_of(services_)](std::exception_ptr e) {
        if (e)
            rt->log.error("webrtc_start_failed", {{"what", "exception while starting a WebRTC session"}});
    });
}

net::awaitable<void> app_session::start_webrtc(std::shared_ptr<app_session> self, std::string session_id,
                                               protocol::app_webrtc_request request, bool remote)
{
    auto& rt = *self->rt();
    auto& live = *self->live();
    std::optional<std::string_view> ref = request.id;
    // Fresh credentials for each end, each under its own subject (user and device), so either
    // can be revoked or traced alone. The provider may call a remote API: blocking pool.
    auto creds = co_await run_blocking(rt.blocking, [&] {
        return std::make_pair(rt.turn->credentials(self->user_id_, rt.options.turn_ttl),
                              rt.turn->credentials(request.device_id, rt.options.turn_ttl));
    });
    if (!creds.first || !creds.second) {
        auto reason = !creds.first ? creds.first.error().reason : creds.second.error().reason;
        live.webrtc.remove(session_id);
        rt.metrics.registry
            .get_counter("relay_webrtc_failures_total", "WebRTC sessions whose ends reported failure.",
                         {{"reason", "turn_unavailable"}})
            .inc();
        self->send_error(errc::turn_unavailable, "no TURN credentials: " + reason, ref);
        co_return;
    }
    auto session = live.webrtc.find(session_id);
    auto robot = session ? session->robot.lock() : nullptr;
    if (!robot) {
        // The robot left (or this app did) while the credentials were being fetched.
        live.webrtc.remove(session_id);
        self->send_error(errc::device_offline, "the robot disconnected", ref);
        co_return;
    }
    protocol::robot_webrtc_request to_robot{session_id, self->user_id_, request.media, request.quality,
                                            std::move(*creds.second), request.replaces};
    protocol::webrtc_credentials to_app{session_id, request.device_id, std::move(*creds.first), request.id};
    if (remote) {
        // The robot is on another node: the app hears once that node has started the session.
        live.cross_node->open_webrtc(
            session_id, request.device_id, self->user_id_, protocol::encode(to_robot),
            [self, to_app = std::move(to_app)](std::optional<errc> code, std::string message) mutable {
                net::post(self->executor(), [self, to_app = std::move(to_app), code, message = std::move(message)] {
                    self->webrtc_started(to_app, code, message, std::nullopt);
                });
            },
            request.replaces);
        co_return;
    }
    robot->send(std::make_shared<std::string const>(protocol::encode(to_robot)));
    self->webrtc_started(to_app, std::nullopt, {}, std::move(session));
}

void app_session::webrtc_started(protocol::webrtc_credentials const& to_app, std::optional<errc> code,
                                 std::string const& message, std::optional<routing::webrtc_session_view> session)
{
    auto& live = *this->live();
    if (!code && !session)
        session = live.webrtc.find(to_app.session_id);
    if (code || !session) {
        // Refused by the robot's node (offline, at its limit, out of reach), or the session
        // ended meanwhile.
        live.webrtc.remove(to_app.session_id);
        if (code == errc::session_limit)
            rt()->metrics.registry
                .get_counter("relay_webrtc_failures_total", "WebRTC sessions whose ends reported failure.",
                             {{"reason", "session_limit"}})
                .inc();
        if (code)
            send_error(*code, message, to_app.ref);
        else
            send_error(errc::device_offline, "the robot disconnected", to_app.ref);
        return;
    }
    enqueue(protocol::encode(to_app));
    record_webrtc_start(*rt(), live, *session);
    rt()->log.info("webrtc_session_started", {{"session_id", to_app.session_id}, {"device_id", to_app.device_id},
                                              {"user_id", user_id_}, {"replaces", session->replaces.value_or("")}});
}

void app_session::signal(bool handled)
{
    if (!handled)
        send_error(errc::session_not_found, "no such WebRTC session on this connection");
}

void app_session::end_my_sessions(std::string const& device_id, std::string const& reason)
{
    // A disconnected app cannot be told. An app that lost a device is told here, on its own
    // thread, not through its inbox: so its webrtc_close is queued before what apply_access may
    // send next (the FORBIDDEN error and the 4403 close), instead of after them and lost.
    for (auto const& s : live()->webrtc.remove_for_app(this, device_id)) {
        auto notice = finish_webrtc_session(*rt(), *live(), s, protocol::closed_by::relay, reason, notify::robot);
        if (!device_id.empty())
            enqueue(std::move(notice));
    }
}

void app_session::deliver(std::string const& channel, routing::channel_message const& message)
{
    // Nothing on the delivery path calls back into the broker, so delivering at once is safe
    // under its lock.
    inbox_.push({delivery_inbox::item::kind::event, self(), channel, message, {}}, on_own_thread(), executor());
}

void app_session::on_delivery(std::string const& channel, routing::channel_message const& message)
{
    auto it = devices_.find(channel);
    if (it == devices_.end())
        return; // access was removed after this was published
    if (message.seq != 0) {
        auto& d = it->second;
        if (d.replay != 0) {
            // A resume is replaying the history, which holds this event (or says it lost it);
            // the replay reads at least up to it.
            d.held_back = std::max(d.held_back, message.seq);
            return;
        }
        if (d.first_sent != 0 && message.seq <= d.last_sent)
            return; // already sent by a resume
        if (d.first_sent == 0)
            d.first_sent = message.seq;
        d.last_sent = message.seq;
    }
    rt()->metrics.messages_routed.inc();
    enqueue(message.frame);
}

void app_session::access_changed(std::string const& device_id, std::optional<protocol::role> role)
{
    inbox_.push({delivery_inbox::item::kind::access, self(), device_id, {}, role}, false, executor());
}

void app_session::send(std::shared_ptr<std::string const> frame)
{
    inbox_.push({delivery_inbox::item::kind::frame, self(), {}, {0, {}, std::move(frame)}, {}}, false, executor());
}

void app_session::on_access_changed(std::string const& device_id, std::optional<protocol::role> role)
{
    if (loading_devices_)
        changes_while_loading_.emplace_back(device_id, role);
    else
        apply_access(device_id, role);
}

void app_session::apply_access(std::string const& device_id, std::optional<protocol::role> role)
{
    if (role) {
        devices_[device_id].role = *role;
        return;
    }
    devices_.erase(device_id);
    live()->broker->unsubscribe(device_id, this);
    end_my_sessions(device_id, "access_revoked");
    if (devices_.empty() && !closing()) {
        rt()->log.info("app_access_revoked", {{"user_id", user_id_}, {"client", client_}});
        send_error(errc::forbidden, "your access to every device was revoked");
        begin_close(protocol::close_code::access_revoked);
    }
}

} // namespace relay::server
