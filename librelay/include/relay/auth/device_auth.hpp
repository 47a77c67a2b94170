#pragma once
/** @file
 * Robot authentication on /ws/device (contract section 6): the relay sends a fresh nonce, the
 * robot answers with HMAC-SHA256(device secret, nonce + "." + device_id) in lowercase hex. The
 * secret itself never crosses the wire after the device is created. Shared by relayd and the
 * robot SDK, so both ends compute the signature with the same code.
 */
#include <string>
#include <string_view>

namespace relay::auth {

/** The bytes a robot signs to answer a challenge, with a secret or a key: the UTF-8 of
 * `nonce + "." + device_id`. Binding the device id means an answer for one device is useless
 * for another. */
std::string device_challenge_message(std::string_view nonce, std::string_view device_id);

/** A challenge nonce: base64url of 32 random bytes (43 characters). A new one per connection,
 * so a recorded answer cannot be replayed. */
std::string make_nonce();

/** The robot's answer to a challenge: lowercase hex (64 characters) of HMAC-SHA256 keyed with
 * `secret` over `nonce + "." + device_id`. Binding the device id means an answer for one device
 * is useless for another even if they shared a secret. */
std::string device_signature(std::string_view secret, std::string_view nonce, std::string_view device_id);

/** Whether `signature` is the right answer; compared in constant time. False for anything that
 * is not 64 hex characters (either case is accepted; the contract asks robots for lowercase). */
bool verify_device_signature(std::string_view secret, std::string_view nonce, std::string_view device_id,
    std::string_view signature);

/** A new device secret: base64url of 32 random bytes, shown to the owner once at creation or
 * rotation and stored sealed (see secret_box). */
std::string generate_device_secret();

} // namespace relay::auth
