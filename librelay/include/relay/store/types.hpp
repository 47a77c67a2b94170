#pragma once
/** @file
 * The records the relay keeps (contract sections 2 and 4): accounts, refresh and password-reset
 * tokens, devices and who may use them, and the history of WebRTC sessions. Plain structs, the
 * same for every store implementation. Times are unix seconds.
 */
#include <relay/protocol/common.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::store {

/** Unix time in seconds, as every record stores it. */
using unix_seconds = std::int64_t;

/**
 * A user's role on a device: the protocol's (owner ⊃ operator ⊃ viewer), so the store, the
 * routes and the wire share one type. Each store maps it to its own representation.
 */
using role = protocol::role;

/** An account. The id is random and unguessable; the email is normalized by the caller. */
struct user {
    std::string id;
    std::string email;
    std::string password_hash;
    unix_seconds created_at = 0;
};

/**
 * One refresh token of a login. Every rotation adds a token to the same family, so presenting
 * an already-rotated token can revoke everything that login produced. Only the token's hash is
 * stored; the caller hashes the raw token.
 */
struct refresh_token {
    std::string token_hash;
    std::string family_id;
    std::string user_id;
    unix_seconds issued_at = 0;
    unix_seconds expires_at = 0;
    bool used = false;    ///< rotated: exchanged for a newer token
    bool revoked = false; ///< logged out, or its family was revoked
};

/** What consume_refresh_token found. */
enum class refresh_outcome {
    rotated,        ///< the token was valid and is now used: issue the next one of the family
    reuse_detected, ///< the token had been used already: its whole family is now revoked
};

/** The result of consume_refresh_token; check `outcome` before issuing anything. */
struct consumed_refresh_token {
    refresh_outcome outcome = refresh_outcome::reuse_detected;
    std::string user_id;
    std::string family_id;
};

/** The login a refresh token belongs to: its user and family (what logout ends). */
struct refresh_login {
    std::string user_id;
    std::string family_id;
};

/** A single-use password-reset token; only its hash is stored. */
struct reset_token {
    std::string token_hash;
    std::string user_id;
    unix_seconds expires_at = 0;
    bool used = false;
};

/**
 * How a robot proves who it is (docs/auth.md "Device keys"): an HMAC with a secret the relay
 * keeps sealed, or an Ed25519 signature checked with a public key, the only thing the relay then
 * holds. Stored as the text "secret" or "ed25519" (key_type_name).
 */
enum class device_key_type { secret, ed25519 };

/** "secret" or "ed25519": the stored and shown name of a key type. */
constexpr std::string_view key_type_name(device_key_type t) noexcept
{
    return t == device_key_type::ed25519 ? "ed25519" : "secret";
}

/** The key type named `text`; anything but "ed25519" is a secret, so a damaged row fails closed
 * (an empty sealed secret opens for no one). */
constexpr device_key_type key_type_from_name(std::string_view text) noexcept
{
    return text == "ed25519" ? device_key_type::ed25519 : device_key_type::secret;
}

/** A robot registered with the relay. */
struct device {
    std::string device_id;
    std::string name;
    std::string secret_sealed;        ///< the device secret as sealed by the caller; opaque here; empty for a key
    unix_seconds created_at = 0;
    std::optional<unix_seconds> last_seen;
    std::string capabilities;         ///< JSON text from the robot's `hello`; empty when unknown
    std::optional<std::string> firmware;
    device_key_type key_type = device_key_type::secret;
    std::string public_key;           ///< ed25519: base64url (no padding) of the raw 32-byte key; else empty
};

/** A device together with the role a given user has on it (list_devices_for_user). */
struct device_access {
    struct device device;
    role access = role::viewer;
};

/** One member of a device, with the email to show in a sharing screen (list_members). */
struct member {
    std::string user_id;
    std::string email;
    role access = role::viewer;
};

/** Who may see a device's events (users_with_access). */
struct user_access {
    std::string user_id;
    role access = role::viewer;
};

/** One WebRTC session, kept as history once it ends (contract section 4). */
struct webrtc_session {
    std::string session_id;
    std::string device_id;
    std::string user_id;
    unix_seconds started_at = 0;
    std::optional<unix_seconds> connected_at;
    std::optional<unix_seconds> ended_at;
    std::optional<std::string> connection_type; ///< "host", "srflx", "prflx" or "relay"
    std::optional<std::string> end_reason;
    std::optional<std::int64_t> rtt_ms;
};

/** One membership row as it is stored (a snapshot's, for copying a database). */
struct membership {
    std::string device_id;
    std::string user_id;
    role access = role::viewer;
};

/**
 * Everything a store holds, for moving a deployment from one database to another
 * (`relayd db copy`): rows exactly as stored, password hashes and sealed secrets included, so
 * that logins and robots keep working. `sessions` is in insertion order (oldest first), which
 * list_sessions uses to order sessions that started in the same second. The health row and the
 * schema version are not part of it.
 */
struct snapshot {
    std::vector<user> users;
    std::vector<refresh_token> refresh_tokens;
    std::vector<reset_token> reset_tokens;
    std::vector<device> devices;
    std::vector<membership> memberships;
    std::vector<webrtc_session> sessions;
};

/** How import_snapshot treats a store that already holds accounts or devices. */
enum class import_mode {
    into_empty, ///< refuse (errc::forbidden) unless the store has no user, device or token
    replace,    ///< delete everything first, in the same transaction
};

} // namespace relay::store
