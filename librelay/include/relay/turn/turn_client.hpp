#pragma once
/** @file
 * A TURN client (RFC 8656) that does what a WebRTC peer does first with a TURN server: an
 * Allocate answered 401 with REALM and NONCE, the same request with long-term credentials, and
 * (here) a Refresh with LIFETIME 0 that releases the allocation at once. Over UDP (retransmitted
 * on RFC 8489's timer), TCP and TLS (`turns:`, the certificate verified like any HTTPS server's,
 * with SNI). The relay's TURN self-probe and `relayd turn-check` use it (probe.hpp); so can
 * anyone who wants to know whether a credential works.
 *
 * The functions here block the calling thread for at most client_options::timeout plus name
 * resolution; the asynchronous forms (Asio coroutines) are private to librelay.
 */
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::turn {

enum class turn_transport { udp, tcp, tls };

/** Where a `turn:`, `turns:`, `stun:` or `stuns:` URL (RFC 7064, RFC 7065) points. */
struct server_address {
    turn_transport transport = turn_transport::udp;
    std::string host; ///< name or IP literal (IPv6 without brackets)
    std::uint16_t port = 3478;
};

/** Parses a STUN/TURN URL: `turn:host[:port][?transport=udp|tcp]`, `turns:host[:port]`
 * (TLS over TCP), `stun:host[:port]`, `stuns:host[:port]`. nullopt, with `why`, otherwise. */
std::optional<server_address> parse_server_url(std::string_view url, std::string& why);

struct client_options {
    /** The whole exchange (connect, TLS, every request and retransmission) ends by then. */
    std::chrono::milliseconds timeout{5000};
    /** UDP: the first retransmission timeout, doubled after each send (RFC 8489 §6.2.1). */
    std::chrono::milliseconds initial_rto{500};
    /** `turns:`: a CA file trusted besides the system's store (which honours SSL_CERT_FILE). */
    std::string ca_file;
};

/** How an exchange ended, for metrics: the label of relay_turn_probe_total's `outcome`. */
enum class outcome_kind {
    ok,          ///< allocated (and released)
    refused,     ///< the server answered with a STUN error (401, 438, 508…)
    timeout,     ///< no answer in time
    unreachable, ///< no connection: refused, unresolvable, TLS not trusted
    bad_answer,  ///< an answer that makes no sense (no relayed address, integrity mismatch)
};

/** "ok", "refused", "timeout", "unreachable" or "bad_answer". */
std::string_view to_string(outcome_kind k) noexcept;

struct allocation_outcome {
    outcome_kind kind = outcome_kind::unreachable;
    /** The relayed transport address ("ip:port") on success. */
    std::string relayed_address;
    /** The STUN error code of a refusal (401 for wrong or expired credentials); 0 otherwise. */
    int error_code = 0;
    /** What happened in words: "401 Unauthorized" (code and the server's reason), "no answer
     * within 5000 ms", "connection refused"…; on success "allocated ADDRESS" and whether the
     * allocation was released. */
    std::string answer;
    /** The Refresh with LIFETIME 0 succeeded (on success only). */
    bool released = false;

    bool ok() const noexcept { return kind == outcome_kind::ok; }
};

/** Allocates with `username`/`password` on the server `url` names and releases it again. */
allocation_outcome allocate_and_release(std::string_view url, std::string const& username,
                                        std::string const& password, client_options const& options = {});

struct binding_outcome {
    bool ok = false;
    std::string mapped_address; ///< our address as the server saw it ("ip:port")
    std::string answer;         ///< why not, when not ok
};

/** A STUN Binding request to the server `url` names (any of the four schemes): is it up? */
binding_outcome stun_binding(std::string_view url, client_options const& options = {});

} // namespace relay::turn
