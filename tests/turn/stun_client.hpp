#pragma once
// A minimal TURN client over UDP for the coturn tests: an Allocate with long-term credentials
// (RFC 5766 §6, RFC 5389 §10.2), done the way aioice does it, so a refusal shows the very STUN
// error code robots saw ("STUN transaction failed (401)").
#include <cstdint>
#include <string>

namespace turn_test {

struct allocate_outcome {
    bool answered = false;        ///< the server answered the authenticated request at all
    int error_code = 0;           ///< STUN ERROR-CODE of a refusal (401, 438…); 0 on success
    std::string error_reason;     ///< its reason phrase
    std::string relayed_address;  ///< "ip:port" of the allocation on success
};

/**
 * Sends an unauthenticated Allocate (answered 401 with REALM and NONCE), then the same request
 * with USERNAME, REALM, NONCE and MESSAGE-INTEGRITY keyed with MD5(username:realm:password).
 */
allocate_outcome turn_allocate(std::uint16_t port, std::string const& username, std::string const& password);

/** Whether a STUN Binding request to 127.0.0.1:port gets a success answer (server is up). */
bool stun_binding_ok(std::uint16_t port);

} // namespace turn_test
