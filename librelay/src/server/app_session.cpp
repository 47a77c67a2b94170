#include "app_session.hpp"

#include "access.hpp"
#include "blocking.hpp"
#include "http_util.hpp"
#include "shared_state.hpp"
#include "tunnel.hpp"

#include <relay/protocol/codec.hpp>
#include <relay/protocol/forwarding.hpp>

namespace relay::server {

app_session::app_session(std::shared_ptr<shared_state> state, beast::tcp_stream stream, std::string client)
    : ws_connection(std::move(state), std::move(stream), std::move(client), "app")
{
}

net::awaitable<void> app_session::run(http_request const& req)
{
    // A token may come with the upgrade (header or ?token=); otherwise the first message must
    // be `auth` within the auth deadline.
    std::string token(bearer_token(req));
    if (token.empty()) {
        std::string_view target(req.target().data(), req.target().size());
        if (auto q = target.find('?'); q != std::string_view::npos)
            token = query_param(target.substr(q + 1), "token").value_or("");
    }
    if (!co_await accept(req))
        co_return;
    if (!token.empty())
        co_await authenticate(token);
    co_await read_loop();

    if (attached_) {
        std::vector<std::string> ids;
        for (auto const& [id, d] : devices_)
            ids.push_back(id);
        state_->hub.detach_app(user_id_, this, ids);
        state_->metrics.apps_connected.sub();
        state_->log.info("app_disconnected", {{"user_id", user_id_}, {"client", client_}});
    }
}

void app_session::on_auth_timeout()
{
    fail_auth(errc::unauthorized, "authentication timed out: send {\"type\":\"auth\",\"token\":…} first");
}

void app_session::fail_auth(errc code, std::string_view message, std::optional<std::string_view> ref)
{
    state_->metrics.auth_failures_app.inc();
    state_->log.info("app_auth_failed", {{"client", client_}, {"code", wire_name(code)}});
    send_error(code, message, ref);
    begin_close(protocol::close_code::auth_failed);
}

net::awaitable<void> app_session::authenticate(std::string const& token)
{
    auto user = verify_access_token(*state_, token);
    if (!user) {
        auto code = user.error() == make_error_code(errc::token_expired) ? errc::token_expired : errc::unauthorized;
        fail_auth(code, code == errc::token_expired ? "the access token has expired" : "invalid access token");
        co_return;
    }
    user_id_ = std::move(*user);
    authenticated();

    // Registered before the devices are read, so a share or unshare that lands meanwhile is
    // not lost: it is applied on top of what the store says (changes_while_loading_).
    loading_devices_ = true;
    attached_ = true;
    state_->metrics.apps_connected.add();
    state_->hub.attach_app(user_id_, self(), {});
    auto listed = co_await run_blocking(state_->blocking, [&] { return state_->store->list_devices_for_user(user_id_); });
    loading_devices_ = false;
    if (!listed) {
        send_error(errc::internal, "could not read your devices; try again");
        begin_close(protocol::close_code::service_restart);
        co_return;
    }
    std::vector<std::string> ids;
    for (auto const& a : *listed) {
        devices_[a.device.device_id] = device_state{to_protocol(a.access), 0, 0};
        ids.push_back(a.device.device_id);
    }
    for (auto const& id : ids)
        state_->broker.subscribe(id, self());
    for (auto& [id, role] : changes_while_loading_)
        apply_access(id, role);
    changes_while_loading_.clear();

    protocol::app_auth_ok ok;
    ok.user_id = user_id_;
    for (auto const& a : *listed) {
        if (!devices_.count(a.device.device_id))
            continue;
        ok.devices.push_back({a.device.device_id, a.device.name, devices_[a.device.device_id].role,
                              state_->hub.online(a.device.device_id)});
    }
    enqueue(protocol::encode(ok));
    state_->log.info("app_connected", {{"user_id", user_id_}, {"client", client_}, {"devices", ok.devices.size()}});
}

net::awaitable<void> app_session::on_message(std::string_view text)
{
    if (closing())
        co_return;
    state_->metrics.messages_in_app.inc();
    auto decoded = protocol::decode_app_inbound(text, max_message_);
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
        state_->metrics.errors_sent.inc();
        enqueue(protocol::encode_error(decoded.error()));
        co_return;
    }
    std::visit(
        [this](auto const& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::app_command> || std::is_same_v<T, protocol::resume> ||
                          std::is_same_v<T, protocol::ping> || std::is_same_v<T, protocol::app_http_request>) {
                handle(m);
            } else if constexpr (std::is_same_v<T, protocol::app_auth>) {
                send_error(errc::bad_message, "already authenticated");
            } else {
                // WebRTC signaling (section 4) and the REST tunnel (section 5) are not served by
                // this relay yet; say so plainly rather than dropping the message.
                std::optional<std::string_view> ref;
                if constexpr (requires { m.id; }) {
                    if constexpr (std::is_same_v<std::decay_t<decltype(m.id)>, std::string>)
                        ref = m.id;
                    else if (m.id)
                        ref = *m.id;
                }
                send_error(errc::internal, std::string(T::type_name) + " is not supported by this relay yet", ref);
            }
        },
        decoded.value());
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
    auto robot = state_->hub.robot(m.device_id);
    if (!robot) {
        send_error(errc::device_offline, "the robot is not connected", m.id);
        return;
    }
    if (!state_->hub.register_command(m.device_id, m.id, std::weak_ptr<routing::app_link>(self()))) {
        send_error(errc::bad_message, "a command with this id is already pending for this device", m.id);
        return;
    }
    robot->send(std::make_shared<std::string const>(protocol::encode(protocol::forward_to_robot(m, user_id_))));
    state_->metrics.messages_routed.inc();
    enqueue(protocol::encode(protocol::ack{m.id, m.device_id}));
}

void app_session::handle(protocol::resume const& m)
{
    auto* d = accessible(m.device_id, std::nullopt);
    if (!d)
        return;
    auto history = state_->broker.history(m.device_id, m.after_seq);
    std::uint64_t replayed = 0;
    std::optional<std::uint64_t> first;
    for (auto const& msg : history.messages) {
        bool already_sent = d->first_sent != 0 && msg.seq >= d->first_sent && msg.seq <= d->last_sent;
        if (!first)
            first = msg.seq;
        if (already_sent)
            continue;
        enqueue(msg.frame);
        ++replayed;
    }
    state_->metrics.replayed_events.inc(replayed);
    // Everything up to the channel's newest seq is now either sent or reported lost, so later
    // live deliveries of those seqs (already queued to this thread) are dropped as repeats.
    if (history.last_seq > m.after_seq) {
        if (d->first_sent == 0 || m.after_seq + 1 < d->first_sent)
            d->first_sent = m.after_seq + 1;
        d->last_sent = std::max(d->last_sent, history.last_seq);
    }
    protocol::resumed r;
    r.device_id = m.device_id;
    r.to_seq = std::max(history.last_seq, m.after_seq);
    r.from_seq = first.value_or(r.to_seq + 1);
    r.complete = history.complete;
    enqueue(protocol::encode(r));
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
    net::co_spawn(executor(), tunnel(self(), std::move(req), m.id), [st = state_](std::exception_ptr e) {
        if (e)
            st->log.error("tunnel_failed", {{"what", "exception in socket tunnel call"}});
    });
}

net::awaitable<void> app_session::tunnel(std::shared_ptr<app_session> self, std::shared_ptr<tunnel_request> req,
                                         std::string id)
{
    auto outcome = co_await tunnel_call(*self->state_, *req);
    if (!outcome.response) {
        self->send_error(outcome.code, outcome.message, id);
        co_return;
    }
    auto answer = protocol::forward_to_app(*outcome.response, req->device_id);
    answer.id = id;
    std::erase_if(answer.headers, [](auto const& kv) { return is_stripped_header(kv.first); });
    self->state_->metrics.messages_routed.inc();
    self->enqueue(protocol::encode(answer));
}

void app_session::deliver(std::string const& channel, routing::channel_message const& message)
{
    net::post(executor(), [self = self(), channel, message] { self->on_delivery(channel, message); });
}

void app_session::on_delivery(std::string const& channel, routing::channel_message const& message)
{
    auto it = devices_.find(channel);
    if (it == devices_.end())
        return; // access was removed after this was published
    if (message.seq != 0) {
        auto& d = it->second;
        if (d.first_sent != 0 && message.seq <= d.last_sent)
            return; // already sent by a resume
        if (d.first_sent == 0)
            d.first_sent = message.seq;
        d.last_sent = message.seq;
    }
    state_->metrics.messages_routed.inc();
    enqueue(message.frame);
}

void app_session::access_changed(std::string const& device_id, std::optional<protocol::role> role)
{
    net::post(executor(), [self = self(), device_id, role] {
        if (self->loading_devices_)
            self->changes_while_loading_.emplace_back(device_id, role);
        else
            self->apply_access(device_id, role);
    });
}

void app_session::apply_access(std::string const& device_id, std::optional<protocol::role> role)
{
    if (role) {
        devices_[device_id].role = *role;
        return;
    }
    devices_.erase(device_id);
    state_->broker.unsubscribe(device_id, this);
    if (devices_.empty() && !closing()) {
        state_->log.info("app_access_revoked", {{"user_id", user_id_}, {"client", client_}});
        send_error(errc::forbidden, "your access to every device was revoked");
        begin_close(protocol::close_code::access_revoked);
    }
}

} // namespace relay::server
