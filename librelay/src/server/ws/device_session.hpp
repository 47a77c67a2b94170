#pragma once
// /ws/device: a robot's connection, authenticated by the contract's challenge–response.
#include "server/webrtc.hpp"
#include "server/ws/ws_connection.hpp"
#include "server/auth_service.hpp"

#include <relay/protocol/device_inbound.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/webrtc_registry.hpp>

namespace relay::server {

class device_session final : public ws_connection, public routing::robot_link {
public:
    device_session(std::shared_ptr<services> svc, maybe_tls_stream stream, http_request upgrade, std::string client);

    /** Upgrades, sends the challenge, authenticates and serves the robot until it leaves. */
    net::awaitable<void> run();

    // routing::robot_link — any thread.
    void send(std::shared_ptr<std::string const> frame) override { post_frame(std::move(frame)); }
    void close(protocol::close_code code) override { post_close(code); }

private:
    net::awaitable<void> on_message(std::string_view text) override;
    void on_auth_timeout() override;

    net::awaitable<void> authenticate(protocol::device_auth const& m);
    void fail_auth();
    void handle(protocol::hello const& m);
    void handle(protocol::robot_event const& m);
    void handle(protocol::robot_command_result const& m);
    void handle(protocol::ping const& m);
    void handle(protocol::robot_http_response const& m);
    /** ICE credentials for this device, answered by send_turn_credentials without holding up reading. */
    void handle(protocol::turn_credentials_request const& m);
    static net::awaitable<void> send_turn_credentials(std::shared_ptr<device_session> self,
                                                      std::optional<std::string> ref);
    /** Offers, candidates, closes and stats (answers refused from robots): see webrtc.hpp. */
    template <class Signal> void handle(Signal const& m)
    {
        signal(handle_webrtc_signal(*rt(), *live(), webrtc_end::robot, static_cast<routing::robot_link const*>(this), m));
    }
    /** Answers SESSION_NOT_FOUND when this connection is not the session's robot end. */
    void signal(bool handled);
    /** The pending tunnelled request `id`, if any, fails with DEVICE_BAD_RESPONSE: its answer was refused for `why`. */
    void fail_tunnel_answer(std::string const& id, std::string const& why);
    /** Tunnelled requests this device will never answer fail now, with `why`. */
    void fail_tunnels(std::string const& why);
    void record_seen(std::optional<std::string> capabilities, std::optional<std::string> firmware);

    std::shared_ptr<device_session> self() { return std::static_pointer_cast<device_session>(shared_from_this()); }

    auth_service* auth() const noexcept { return &services_->auth; }
    std::string nonce_;
    std::string device_id_; // set once authenticated
    bool attached_ = false;
};

} // namespace relay::server
