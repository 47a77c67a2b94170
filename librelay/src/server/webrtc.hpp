#pragma once
// Signaling steps both sessions share (contract section 4): ending a session and telling its
// other end, recording `webrtc_stats`, and keeping the history in the store.
#include <relay/protocol/webrtc.hpp>
#include <relay/routing/webrtc_registry.hpp>

#include <string>

namespace relay::server {

struct shared_state;

/** Which ends hear of a session's end (the one that closed it already knows). */
enum class notify { app, robot, both };

/**
 * Ends a session that was already removed from the registry: sends `webrtc_close` with `by`
 * and `reason` to the ends named by `who`, records the end in the store and the metrics.
 */
void finish_webrtc_session(shared_state& state, routing::webrtc_session_view const& session,
                           protocol::closed_by by, std::string const& reason, notify who);

/** Records a `webrtc_stats` report from either end (connected: time to connect, connection type). */
void record_webrtc_stats(shared_state& state, routing::webrtc_session_view const& session,
                         protocol::webrtc_stats const& stats);

/** Stores a new session's start (on the ordered store-writes strand). */
void record_webrtc_start(shared_state& state, routing::webrtc_session_view const& session);

} // namespace relay::server
