#pragma once
/** @file
 * relay::robot::client — a robot's connection to the relay (contract section 6).
 *
 * It connects to `wss://…/ws/device` (or `ws://` for local use), answers the relay's challenge
 * with the device secret, announces the robot's capabilities with `hello`, and from then on
 * carries the robot's events up and the apps' commands, WebRTC signaling and REST-tunnel
 * requests down, as librelay's protocol structs. It reconnects forever with jittered
 * exponential backoff; events sent while it is offline wait in a bounded outbox and are sent,
 * in order, once it is back. With client_options::acknowledged_events, each event also stays in
 * the outbox until the relay acknowledges it, and unacknowledged ones are sent again after a
 * reconnect, so a dropped connection neither loses nor (within the relay's history) duplicates one.
 *
 * Threading: every public member function may be called from any thread. The network I/O and
 * every callback run on one thread: the client's own background thread, or whichever thread
 * runs the io_context given to the constructor. Callbacks must not block for long (they hold
 * up the connection's reading); hand long work to another thread and answer later through the
 * reply object, which may be used from any thread.
 *
 * The implementation (Asio, Beast, OpenSSL) stays in the library: this header pulls in only
 * Boost.JSON and librelay's protocol structs.
 */
#include <relay/robot/backoff.hpp>
#include <relay/robot/relay_url.hpp>

#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/device_outbound.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace relay::robot {

/** Everything a client is configured with: `url`, `device_id`, and `device_secret` or `device_key_file`. */
struct client_options {
    /** The relay: `wss://relay.example.com` (or `https://`, `ws://`, `http://`); `/ws/device` is appended when missing. */
    std::string url;
    /** The device id the relay knows this robot by. */
    std::string device_id;
    /** The device secret shown once when the device was created or rotated. Never sent: it keys the challenge answer. */
    std::string device_secret;
    /**
     * v1.1 device keys: a PEM file holding the robot's Ed25519 private key (PKCS#8, as
     * `relay-cli device keygen` writes it). When set, the challenge is answered with an Ed25519
     * signature and `device_secret` must be empty; the relay holds only the public key. Read
     * once, by the constructor: a missing or unreadable file, or one without an Ed25519 private
     * key, throws std::invalid_argument (so does giving both or neither).
     */
    std::string device_key_file;

    /** What the robot can do, sent in `hello` on every connection and shown by GET /api/devices. */
    boost::json::object capabilities;
    /** The robot's firmware version, sent in `hello` when set. */
    std::optional<std::string> firmware;

    /** A PEM file of extra trusted CAs for wss:// (e.g. a private CA); the system store is always used too. */
    std::string ca_file;

    /**
     * Events kept while disconnected (and, with acknowledged_events, written but not yet
     * acknowledged); when full, the oldest is dropped and counted (client_stats::events_dropped).
     */
    std::size_t outbox_capacity = 1000;

    /**
     * Send every event with an `id` and keep it until the relay answers `ack` (contract 8, relay
     * 1.1 and later). Events written on a connection that ends before their ack are sent again,
     * in order and with the same id, on the next connection; the relay answers a re-sent id it
     * still holds with the same ack and does not deliver it twice. Ids are
     * `<16 random hex digits, drawn once per client object>-<n>`, n counting from 1 the
     * events given to send_event (a refused one uses up its number). Off by default: a relay older than 1.1 never acknowledges, and every
     * reconnect would then deliver the events of the last connection again.
     */
    bool acknowledged_events = false;

    /** Reconnect delays: 0.5 s doubling to 30 s, with jitter (see backoff). */
    backoff_policy reconnect{};
    /** A connection that stayed up this long resets the reconnect delay to its initial value. */
    std::chrono::milliseconds stable_after{std::chrono::seconds(60)};
    /** Time for TCP, TLS, the WebSocket upgrade and the challenge until `auth_ok`. */
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(15)};

    /** How often the client pings the relay. */
    std::chrono::milliseconds ping_interval{std::chrono::seconds(20)};
    /**
     * A relay silent for this long (no message, ping or pong) is taken for dead and the
     * connection is dropped and re-established. Below the contract's 75 s, so a half-open
     * connection is noticed before the relay itself would give up on the robot.
     */
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(60)};

    /**
     * After another connection of the same device replaced this one (close 4409), wait this long
     * before taking the device back, so two agents sharing an id do not knock each other off in
     * a tight loop.
     */
    std::chrono::milliseconds replaced_retry_delay{std::chrono::minutes(5)};
    /** Stop for good (no reconnect) when replaced. */
    bool stop_when_replaced = false;

    /**
     * Messages per second the client sends at most, and the burst it may send at once. Below the
     * relay's robot limit (200/s, burst 400), so flushing a full outbox after an outage is not
     * answered with RATE_LIMITED.
     */
    double send_rate = 150;
    double send_burst = 300;

    /** Largest message accepted from the relay (REST-tunnel requests can be large). */
    std::size_t max_message_size = 4 * 1024 * 1024;
    /**
     * Largest message the client sends: the relay closes a connection that sends more than its
     * read limit (1009; 64 KiB by default). send_event refuses a larger event; a larger command
     * result or HTTP response is replaced by an error answer saying so (RESULT_TOO_LARGE, 413
     * BODY_TOO_LARGE), so the app learns why instead of the connection dropping.
     */
    std::size_t max_send_size = 64 * 1024;

    /** How long stop() waits for the WebSocket closing handshake before cutting the connection. */
    std::chrono::milliseconds close_timeout{std::chrono::seconds(2)};
};

/** Why a connection, or an attempt at one, ended. */
enum class disconnect_reason {
    connect_failed,    ///< name resolution, TCP, TLS (e.g. certificate verification) or the WebSocket upgrade failed
    handshake_timeout, ///< no `auth_ok` within handshake_timeout
    auth_failed,       ///< the relay refused the device id or secret (close 4401): check the secret
    replaced,          ///< another connection of this device took over (close 4409)
    relay_closed,      ///< the relay closed the connection (shutting down 1001, restarting 1012, or another code)
    connection_lost,   ///< the connection broke without a close frame (network down, relay killed)
    keepalive_timeout, ///< nothing heard from the relay within keepalive_timeout
    protocol_error,    ///< the relay sent something unexpected during the handshake
};

/** The reason's name, e.g. "auth_failed". */
std::string_view to_string(disconnect_reason reason) noexcept;

/** What on_connected reports. */
struct connection_info {
    std::string device_id;
    int protocol = 0;            ///< the protocol version the relay announced
    std::size_t outbox_size = 0; ///< events waiting, sent next in order
    std::uint64_t connections = 0; ///< authenticated connections so far, this one included
};

/** What on_disconnected reports. */
struct disconnect_info {
    disconnect_reason reason = disconnect_reason::connection_lost;
    /** True when an authenticated connection ended; false when an attempt failed before `auth_ok`. */
    bool was_connected = false;
    /** The relay's WebSocket close code (4401, 4409, 1001, …), 0 when there was none. */
    std::uint16_t close_code = 0;
    /** A sentence for logs: the relay's error message or close reason, or the network error. */
    std::string message;
    /** False only after 4409 with stop_when_replaced (after stop() no callback runs at all). */
    bool will_retry = true;
    /** When the next attempt starts. */
    std::chrono::milliseconds retry_in{0};
    /** Consecutive failed attempts since the last stable connection, this one included. */
    unsigned failures = 0;
};

/** Counters for monitoring; a snapshot. */
struct client_stats {
    bool connected = false;
    std::uint64_t connections = 0;        ///< authenticated connections so far
    std::uint64_t events_queued = 0;      ///< events accepted by send_event
    std::uint64_t events_sent = 0;        ///< events written to a connection
    std::uint64_t events_dropped = 0;     ///< events dropped from a full outbox (oldest first)
    std::size_t outbox_size = 0;          ///< events waiting to be written now
    /** acknowledged_events: events written and waiting for their ack now (sent again after a reconnect). */
    std::size_t events_unacknowledged = 0;
    std::uint64_t events_acknowledged = 0; ///< acknowledged_events: events the relay acknowledged
    std::uint64_t events_resent = 0;       ///< acknowledged_events: events written again after a reconnect
    std::uint64_t auth_failures = 0;      ///< attempts refused with 4401
    std::uint64_t replaced = 0;           ///< connections closed with 4409
    std::uint64_t keepalive_timeouts = 0; ///< connections dropped because the relay fell silent
    std::uint64_t replies_dropped = 0;    ///< replies given after their connection had ended
};

namespace detail {
struct client_core;
struct reply_state;
} // namespace detail

/**
 * The answer to one command. Copyable and usable from any thread; the first of ok(), fail()
 * or send() answers, later calls do nothing and return false. When the last copy is destroyed
 * without an answer, the command is answered `ok:false` with error
 * `{"code":"NOT_ANSWERED",…}`, so an app is never left waiting for a forgotten command.
 * An answer given after the connection that brought the command ended is dropped (the relay
 * already told the app DEVICE_OFFLINE) and counted in client_stats::replies_dropped.
 */
class command_reply {
public:
    /** An empty handle (for containers); every answer on it returns false. */
    command_reply() = default;
    /** Answers `{"ok":true,"data":…}` (no data when nullopt). */
    bool ok(std::optional<boost::json::value> data = std::nullopt);
    /** Answers `{"ok":false,"error":…}`; `error` is any JSON, by convention `{"code","message"}`. */
    bool fail(boost::json::value error);
    /** Answers with a complete result; its `id` is set to the command's. */
    bool send(protocol::robot_command_result result);
    /** True once answered. */
    bool answered() const noexcept;

private:
    friend struct detail::client_core;
    explicit command_reply(std::shared_ptr<detail::reply_state> state) : state_(std::move(state)) {}
    std::shared_ptr<detail::reply_state> state_;
};

/**
 * The answer to one REST-tunnel request, like command_reply. Unanswered when its last copy is
 * destroyed, the request is answered 500 with `{"error":{"code":"NOT_ANSWERED",…}}`.
 */
class http_reply {
public:
    /** An empty handle (for containers); every answer on it returns false. */
    http_reply() = default;
    /** Answers with `status`, an optional JSON body and headers. */
    bool respond(unsigned status, std::optional<boost::json::value> body = std::nullopt,
                 protocol::http_headers headers = {});
    /** Answers with raw bytes (sent as `body_b64`) and their content type. */
    bool respond_bytes(unsigned status, std::string_view bytes, std::string content_type,
                       protocol::http_headers headers = {});
    /** Answers with a complete response; its `id` is set to the request's. */
    bool send(protocol::robot_http_response response);
    bool answered() const noexcept;

private:
    friend struct detail::client_core;
    explicit http_reply(std::shared_ptr<detail::reply_state> state) : state_(std::move(state)) {}
    std::shared_ptr<detail::reply_state> state_;
};

/**
 * A robot's connection to the relay. Construct, set callbacks, start(); send events whenever;
 * stop() or destroy it to shut down. Not copyable or movable (callbacks refer to it).
 */
class client {
public:
    /**
     * A client doing its I/O on its own background thread (started by start()).
     * Throws std::invalid_argument for a bad URL, device id, unreadable ca_file, or credentials
     * other than exactly one of device_secret and a readable Ed25519 device_key_file.
     */
    explicit client(client_options options);

    /**
     * A client doing its I/O on `io`, which the caller runs (and which must outlive the client).
     * Every callback then runs on a thread that runs `io`, serialized by a strand.
     */
    client(client_options options, boost::asio::io_context& io);

    /** stop(), then releases everything. Must not be called from one of the client's callbacks. */
    ~client();

    client(client const&) = delete;
    client& operator=(client const&) = delete;

    /** Starts connecting (and, with its own thread, starts that thread). Once; throws std::logic_error on a second call. */
    void start();

    /**
     * Closes the connection (WebSocket close 1000, at most close_timeout), stops reconnecting,
     * and with its own thread joins it: when stop() returns no callback is running or will run.
     * With a caller's io_context it requests the shutdown, which completes as that io_context
     * runs; no callback starts after stop() returns. Idempotent. Calling it from a callback is
     * allowed (it then only requests the shutdown).
     */
    void stop();

    // --- sending -----------------------------------------------------------------------------

    /**
     * Queues an event (`{"type":"event","event":name,"data":data}`). Sent at once when connected,
     * otherwise kept in the outbox (oldest dropped when full) and sent in order after the next
     * `hello`. Returns relay::errc::bad_message for a name the relay would refuse
     * (`[a-z0-9_.-]{1,64}`, not robot_connected/robot_disconnected) and
     * relay::errc::message_too_large for an event over max_send_size; nothing is queued then.
     */
    boost::system::error_code send_event(std::string_view name, std::optional<boost::json::value> data = std::nullopt);

    /**
     * Replaces the capabilities (and firmware, when given) announced in `hello`; sends a new
     * `hello` at once when connected, and after every reconnect.
     */
    void hello(boost::json::object capabilities, std::optional<std::string> firmware = std::nullopt);

    /** Sends the robot's SDP offer for a session (answering on_webrtc_request). False when not connected. */
    bool send_webrtc_offer(std::string session_id, std::string sdp);
    /** Sends a local ICE candidate; nullopt says there are no more. False when not connected. */
    bool send_webrtc_ice(std::string session_id, std::optional<protocol::ice_candidate> candidate);
    /** Ends a session from the robot's side. False when not connected. */
    bool send_webrtc_close(std::string session_id, std::optional<std::string> reason = std::nullopt);
    /** Reports how a session is doing (for the relay's session history). False when not connected. */
    bool send_webrtc_stats(protocol::webrtc_stats stats);

    /**
     * Asks the relay for ICE credentials for this device (`turn_credentials_request`), e.g. to
     * set up a peer connection before an app asks for one, or to refresh credentials before
     * their `expires_at`. The answer arrives through on_turn_credentials with `ref` = `id`;
     * when the relay has none (its TURN provider is down) on_error gets TURN_UNAVAILABLE with
     * `ref` = `id`. False when not connected (nothing is queued: ask again once connected).
     * Throws std::invalid_argument for an id the relay would refuse (1 to 128 bytes, no
     * control characters).
     */
    bool request_turn_credentials(std::optional<std::string> id = std::nullopt);

    /**
     * Blocks until every event queued before the call has been written and the relay has
     * answered a ping sent after them (so it has processed them), or `timeout` passes. With
     * acknowledged_events, until every such event is acknowledged as well. Events dropped from
     * a full outbox count as done. True on success. Must not be called from a
     * callback (returns false at once there).
     */
    bool flush(std::chrono::milliseconds timeout);

    /** Uses a new device secret from the next attempt on (after a rotation, or after the owner
     * switched a key device back to a secret: the key from device_key_file is then dropped). */
    void set_device_secret(std::string secret);

    // --- callbacks (set any time; each runs on the I/O thread) --------------------------------

    /** Authenticated and `hello` sent; queued events follow. */
    void on_connected(std::function<void(connection_info const&)> callback);
    /** A connection or an attempt ended; says why and when the next attempt starts. */
    void on_disconnected(std::function<void(disconnect_info const&)> callback);
    /**
     * An app's command. Answer through the reply, now or later from any thread. Without this
     * callback every command is answered `ok:false` with error code UNKNOWN_COMMAND.
     */
    void on_command(std::function<void(protocol::robot_command const&, command_reply)> callback);
    /** An app asks for a WebRTC session: answer with send_webrtc_offer (and send_webrtc_ice). */
    void on_webrtc_request(std::function<void(protocol::robot_webrtc_request const&)> callback);
    /** The app's SDP answer for a session. */
    void on_webrtc_answer(std::function<void(protocol::webrtc_answer const&)> callback);
    /** An ICE candidate from the app (no candidate: the app has no more). */
    void on_webrtc_ice(std::function<void(protocol::webrtc_ice const&)> callback);
    /** A session ended by the app or the relay. */
    void on_webrtc_close(std::function<void(protocol::webrtc_close_notice const&)> callback);
    /**
     * ICE credentials the relay issued for this device, answering request_turn_credentials
     * (`ref` is the request's id). The same object as GET /api/turn/credentials.
     */
    void on_turn_credentials(std::function<void(protocol::turn_credentials const&)> callback);
    /**
     * The relay acknowledged an event (acknowledged_events): `ref` is the event's id, `seq` its
     * number in the device's history. Called once per event, in the order the relay took them
     * in; an ack for an event already acknowledged (a re-send the relay recognised) is not
     * reported again.
     */
    void on_event_ack(std::function<void(protocol::event_ack const&)> callback);
    /**
     * A REST-tunnel request for the robot's local API. Without this callback every request is
     * answered 501.
     */
    void on_http_request(std::function<void(protocol::robot_http_request const&, http_reply)> callback);
    /**
     * An `error` the relay sent (RATE_LIMITED, SESSION_NOT_FOUND, …; `ref` names the message),
     * or a message from the relay this SDK could not decode (its decode error, with a message
     * saying so).
     */
    void on_error(std::function<void(protocol::error const&)> callback);

    // --- state --------------------------------------------------------------------------------

    /** True while authenticated. */
    bool connected() const noexcept;
    /** A snapshot of the counters. */
    client_stats stats() const;

private:
    std::unique_ptr<boost::asio::io_context> own_io_; // only for the background-thread mode
    std::shared_ptr<detail::client_core> core_;
};

} // namespace relay::robot
