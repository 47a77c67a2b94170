#pragma once
// /ws/app: an authenticated app connection (mobile app, browser, CLI).
#include "server/webrtc.hpp"
#include "server/ws/ws_connection.hpp"
#include "server/auth_service.hpp"

#include <relay/auth/jwt.hpp>
#include <relay/protocol/app_inbound.hpp>
#include <relay/protocol/app_outbound.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/webrtc_registry.hpp>

#include <unordered_map>
#include <vector>

namespace relay::server {

class delivery_inbox;

class app_session final : public ws_connection, public routing::app_link {
public:
    app_session(std::shared_ptr<services> svc, maybe_tls_stream stream, http_request upgrade, std::string client);

    /** Upgrades, authenticates and serves the connection until it ends. */
    net::awaitable<void> run();

    // routing::app_link — called from any thread; each goes through this thread's inbox, in order.
    void deliver(std::string const& channel, routing::channel_message const& message) override;
    void send(std::shared_ptr<std::string const> frame) override;
    void access_changed(std::string const& device_id, std::optional<protocol::role> role) override;
    void login_ended(std::string const& login_id) override;

    // Own thread (the inbox): what the three above do when their turn comes.
    /** Queues a published message unless access was removed or resume sent it. */
    void on_delivery(std::string const& channel, routing::channel_message const& message);
    void enqueue_frame(std::shared_ptr<std::string const> frame) { enqueue(std::move(frame)); }
    void on_access_changed(std::string const& device_id, std::optional<protocol::role> role);
    /** Closes (4401) when this connection belongs to the login that ended (empty: any login). */
    void on_login_ended(std::string const& login_id);
    void close(protocol::close_code code) override { post_close(code); }

private:
    net::awaitable<void> on_message(std::string_view text) override;
    void on_auth_timeout() override;

    net::awaitable<void> authenticate(std::string const& token);
    /** The claims of `token` if it is valid now; else answers (first auth: and closes 4401). */
    std::optional<auth::jwt_claims> check_token(std::string const& token, bool renewal);
    /** `auth` on an authenticated socket: a fresh token of the same user extends its life. */
    void renew(std::string const& token);
    /** The socket ends with its token: TOKEN_EXPIRED and 4401 at `claims.exp` unless renewed. */
    void follow_token(auth::jwt_claims const& claims);
    /** Sets the connection's deadline to the token's expiry (by the wall clock, now). */
    void watch_token_expiry();
    /** The token's expiry passed: TOKEN_EXPIRED and 4401, unless the wall clock says not yet. */
    void on_deadline() override;
    void fail_auth(errc code, std::string_view message, std::optional<std::string_view> ref = {});
    void apply_access(std::string const& device_id, std::optional<protocol::role> role);

    void handle(protocol::app_command const& m);
    void handle(protocol::resume const& m);
    void handle(protocol::ping const& m);
    void handle(protocol::app_http_request const& m);
    void handle(protocol::app_webrtc_request const& m);
    /** Offers (refused from apps), answers, candidates, closes and stats: see webrtc.hpp. */
    template <class Signal> void handle(Signal const& m)
    {
        signal(handle_webrtc_signal(*rt(), *live(), webrtc_end::app, static_cast<routing::app_link const*>(this), m));
    }
    /** Answers SESSION_NOT_FOUND when this connection is not the session's app end. */
    void signal(bool handled);
    /**
     * Gets ICE credentials for both ends and starts the session (through the robot's node when
     * `remote`); runs beside the read loop.
     */
    static net::awaitable<void> start_webrtc(std::shared_ptr<app_session> self, std::string session_id,
                                             protocol::app_webrtc_request request, bool remote);
    /**
     * The session reached its robot (`code` empty): the app gets its credentials and the
     * session is recorded; else the app gets the error. Own thread.
     */
    void webrtc_started(protocol::webrtc_credentials const& to_app, std::optional<errc> code,
                        std::string const& message, std::optional<routing::webrtc_session_view> session);
    /** This connection's id in node messages (cluster_routing), given on first use. */
    std::uint64_t node_conn_id();
    /** Ends this connection's sessions on `device_id` (all devices when empty). */
    void end_my_sessions(std::string const& device_id, std::string const& reason);
    /** Carries one socket http_request through the tunnel; runs beside the read loop. */
    static net::awaitable<void> tunnel(std::shared_ptr<app_session> self, std::shared_ptr<struct tunnel_request> req,
                                       std::string id);

    /** The device's entry when the user may access it; else answers DEVICE_NOT_FOUND. */
    struct device_state;
    device_state* accessible(std::string const& device_id, std::optional<std::string_view> ref);

    /** Where a resume's replay stands; it is sent a page at a time (see replay_page). */
    struct replay_progress {
        std::uint64_t id = 0;        // the device_state::replay it belongs to
        std::uint64_t after_seq = 0; // as asked
        std::uint64_t cursor = 0;    // everything up to here was sent or reported
        std::optional<std::uint64_t> first;
        bool complete = true;
    };
    /** Queues a page of a replay; true when it was the last (`resumed` is queued). */
    bool replay_page(std::string const& device_id, device_state& d, replay_progress& p,
                     routing::history_result const& page);
    /** Sends the rest of a replay, a page each time the send queue has drained enough. */
    static net::awaitable<void> replay(std::shared_ptr<app_session> self, std::string device_id, replay_progress p);

    std::shared_ptr<app_session> self() { return std::static_pointer_cast<app_session>(shared_from_this()); }

    struct device_state {
        protocol::role role;
        // Every seq in [first_sent, last_sent] has been queued on this connection (live or
        // replayed), so resume neither repeats nor skips events.
        std::uint64_t first_sent = 0;
        std::uint64_t last_sent = 0;
        // Non-zero while a resume replays this device: live events wait in the history and
        // reach the app through the replay, in seq order.
        std::uint64_t replay = 0;
        // The newest seq of the live events dropped while the replay runs: it goes on at least
        // up to there, so none of them is skipped when the history answers from afar (Redis).
        std::uint64_t held_back = 0;
    };
    auth_service* auth() const noexcept { return &services_->auth; }
    routing::token_bucket webrtc_bucket_;
    delivery_inbox& inbox_; // of this connection's io_context
    std::string user_id_;
    // The login (token `sid`, empty for tokens without one) and expiry (unix seconds) of the
    // token the socket lives by: the first one, then each renewal's. Own thread only.
    std::string login_id_;
    std::int64_t token_expires_at_ = 0;
    std::unordered_map<std::string, device_state> devices_;
    std::uint64_t replays_started_ = 0;
    std::uint64_t node_conn_id_ = 0; // 0 until it asks another node for something
    bool attached_ = false;
    bool loading_devices_ = false;
    std::vector<std::pair<std::string, std::optional<protocol::role>>> changes_while_loading_;
};

} // namespace relay::server
