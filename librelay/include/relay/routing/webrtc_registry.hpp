#pragma once
/** @file
 * WebRTC signaling sessions (contract section 4): which app connection and which robot a
 * session joins, so offers, answers and candidates go only between its two ends; the per-device
 * limit; and the deadlines for a missing offer or answer. No sockets: sessions notify the ends.
 */
#include <relay/protocol/common.hpp>
#include <relay/routing/hub.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace relay::routing {

/** Where a signaling session stands. */
enum class webrtc_phase { requested, offered, answered, connected };

/** A copy of a session's facts, safe to use outside the registry's lock. */
struct webrtc_session_view {
    std::string session_id;
    std::string device_id;
    std::string user_id;
    std::weak_ptr<app_link> app;
    std::weak_ptr<robot_link> robot;
    webrtc_phase phase = webrtc_phase::requested;
    std::chrono::steady_clock::time_point created;
    std::optional<protocol::connection_type> connection_type;
    /**
     * The session's app is on another relay node, which keeps its history and metrics: this
     * node holds it so the robot here signals through the same checks (cluster_routing).
     */
    bool mirror = false;
    /** The session this one takes over (make-before-break renewal, docs/protocol.md decision 28). */
    std::optional<std::string> replaces;
};

struct webrtc_limits {
    std::size_t per_device = 4;                 ///< concurrent sessions per robot
    std::chrono::seconds offer_timeout{30};     ///< request → the robot's offer
    std::chrono::seconds answer_timeout{30};    ///< offer → the app's answer
    /** A replacement's first `connected` report → the relay closes the session it replaces. */
    std::chrono::seconds replace_grace{15};
};

/** Thread-safe (one mutex). */
class webrtc_registry {
public:
    explicit webrtc_registry(webrtc_limits limits) noexcept : limits_(limits) {}

    /**
     * A new session with an unguessable id; errc::session_limit when the device is at its limit.
     * With `replaces` (a renewal) that must be a live session of the same app link and device,
     * else errc::session_not_found; the new session then takes no slot of the limit while the
     * one it replaces lives (one replacement per session is free; a chain of renewals holds one).
     */
    boost::system::result<std::string> create(std::string const& device_id, std::string const& user_id,
                                              std::weak_ptr<app_link> app, std::weak_ptr<robot_link> robot,
                                              std::chrono::steady_clock::time_point now,
                                              std::optional<std::string> const& replaces = std::nullopt);

    /**
     * A session another node created for its app (`app` stands for it here), under that node's
     * id and this node's per-device limit: errc::session_limit at the limit, errc::internal when
     * the id is taken. `replaces` counts as in create(); here it must be a live session of the
     * same device and user (its app's node checked the rest), else errc::session_not_found.
     */
    boost::system::result<void> adopt(std::string const& session_id, std::string const& device_id,
                                      std::string const& user_id, std::weak_ptr<app_link> app,
                                      std::weak_ptr<robot_link> robot, std::chrono::steady_clock::time_point now,
                                      std::optional<std::string> const& replaces = std::nullopt);

    std::optional<webrtc_session_view> find(std::string const& session_id) const;

    /**
     * Moves a session forward (an offer, an answer, or a `connected` report); never backward. A
     * replacement's first `connected` starts the grace after which expire() ends what it replaces.
     */
    void advance(std::string const& session_id, webrtc_phase phase, std::chrono::steady_clock::time_point now,
                 std::optional<protocol::connection_type> type = std::nullopt);

    /** Forgets a session and returns it (nullopt when it had already ended). */
    std::optional<webrtc_session_view> remove(std::string const& session_id);
    /** Forgets the sessions of an app connection (it went away), or only those on `device_id`. */
    std::vector<webrtc_session_view> remove_for_app(app_link const* app, std::string const& device_id = {});
    /** Forgets the sessions a robot connection carried (it left or was replaced). */
    std::vector<webrtc_session_view> remove_for_robot(robot_link const* robot);
    /** Forgets every session of a device (the device was deleted). */
    std::vector<webrtc_session_view> remove_for_device(std::string const& device_id);

    /**
     * Forgets sessions whose offer or answer is overdue ("offer_timeout", "answer_timeout") and
     * sessions replaced by one connected for longer than the grace ("replaced"); returns them
     * with the reason.
     */
    std::vector<std::pair<webrtc_session_view, std::string>> expire(std::chrono::steady_clock::time_point now);

    std::size_t active() const;

private:
    struct entry {
        webrtc_session_view view;
        std::chrono::steady_clock::time_point phase_since;
        /// When what this session replaces is due to be closed (set by its first `connected`).
        std::optional<std::chrono::steady_clock::time_point> replace_at;
    };
    // mutex_ held: whether a new session on the device (replacing `replaces`, when set) is refused.
    bool at_limit(std::string const& device_id, std::optional<std::string> const& replaces) const;
    // mutex_ held: the session `replaces` names, when it is live on `device_id`.
    entry const* replaced(std::string const& device_id, std::optional<std::string> const& replaces) const;
    webrtc_limits limits_;
    mutable std::mutex mutex_; // guards sessions_
    std::unordered_map<std::string, entry> sessions_;
};

} // namespace relay::routing
