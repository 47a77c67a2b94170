#pragma once
// Signaling steps both sessions share (contract section 4): ending a session and telling its
// other end, recording `webrtc_stats`, and keeping the history in the store.
#include <relay/protocol/webrtc.hpp>
#include <relay/routing/webrtc_registry.hpp>

#include <memory>
#include <optional>
#include <string>

namespace relay::server {

struct runtime;
struct live_service;

/** Which end of a session a connection is. */
enum class webrtc_end { app, robot };

/**
 * One signaling message from `link` (the sending connection as the session knows it: its
 * routing::app_link or routing::robot_link) acting as the session's `from` end: an offer, answer
 * or candidate goes to the other end (moving the session forward), a close ends the session and
 * tells the other end, stats are recorded. False when `link` is not that end of a live session;
 * the caller then answers SESSION_NOT_FOUND, and nothing reaches anyone.
 */
bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_offer const& m);
bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_answer const& m);
bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_ice const& m);
bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_close const& m);
bool handle_webrtc_signal(runtime& rt, live_service& live, webrtc_end from, void const* link,
                          protocol::webrtc_stats const& m);

/** Which ends hear of a session's end (the one that closed it already knows). */
enum class notify { app, robot, both };

/**
 * Ends a session that was already removed from the registry: sends `webrtc_close` with `by`
 * and `reason` to the ends named by `who`, records the end in the store and the metrics.
 * Returns that `webrtc_close` frame, for an end that queues it itself (on its own thread, to
 * order it before what it sends next).
 */
std::shared_ptr<std::string const> finish_webrtc_session(runtime& rt, live_service& live,
                                                         routing::webrtc_session_view const& session,
                                                         protocol::closed_by by, std::string const& reason, notify who);

/** Records a `webrtc_stats` report from either end (connected: time to connect, connection type). */
void record_webrtc_stats(runtime& rt, live_service& live, routing::webrtc_session_view const& session,
                         protocol::webrtc_stats const& stats);

/** Stores a new session's start (on the ordered store-writes strand). */
void record_webrtc_start(runtime& rt, live_service& live, routing::webrtc_session_view const& session);

} // namespace relay::server
