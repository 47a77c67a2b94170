// libFuzzer target for what an unauthenticated peer controls before it is let in: the access
// token on /ws/app and the HTTP API (jwt_codec::verify), and the robot's `auth` message on
// /ws/device with its HMAC signature (decode_device_inbound, verify_device_signature, hex).
// Besides "nothing crashes", it checks what must hold for any input:
//   - verify never throws; a token it accepts carries our HS256 signature, says exactly
//     "alg":"HS256", and its claims sign into a token that verifies to the same claims;
//   - a device signature is accepted exactly when it is the 64 hex digits (either case) of
//     device_signature() for that secret, nonce and device id;
//   - hex decodes and encodes back to the lowercase of what it read.
// The first byte picks the mode, so one corpus reaches every path: 0 the whole token; 1 the
// claims (a JSON payload the fuzzer writes, correctly signed, so the claim checks are reached
// past the signature); 2 the header (with good claims, correctly signed); 3 the robot's auth
// message; 4 the signature fields on their own, split by newlines; 5 a device's public key as
// POST /api/devices and PUT …/key read it (base64url or PEM), and raw Ed25519 verification with
// whatever key bytes the input holds; 6 a key robot's challenge answer, which is accepted
// exactly when it is the (deterministic) Ed25519 signature of a fixed key, in lowercase hex.
#include <relay/auth/crypto.hpp>
#include <relay/auth/device_auth.hpp>
#include <relay/auth/device_key.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/protocol/base64.hpp>
#include <relay/protocol/codec.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

namespace auth = relay::auth;
namespace protocol = relay::protocol;
namespace json = boost::json;

// Makes the fuzzer report the input: an invariant does not hold.
void require(bool condition)
{
    if (!condition)
        __builtin_trap();
}

constexpr std::string_view secret = "fuzz-secret-0123456789abcdef0123456789abcdef";
// A fixed clock inside the exp of the good claims below, so accepted tokens are reachable.
auto const now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

auth::jwt_codec const& codec()
{
    static auth::jwt_codec const c{std::string(secret)};
    return c;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

/** header.payload.signature with the signature the relay would compute. */
std::string signed_token(std::string_view header_json, std::string_view payload_json)
{
    auto input = protocol::base64url_encode(header_json) + "." + protocol::base64url_encode(payload_json);
    return input + "." + protocol::base64url_encode(auth::hmac_sha256(secret, input));
}

void check_token(std::string_view token)
{
    auto claims = codec().verify(token, now);
    bool signature_ok = auth::verify_hs256_signature(token, secret);
    if (!claims)
        return;
    // Accepted: our signature, exactly HS256, and the claims survive a round trip.
    require(signature_ok);
    auto dot = token.find('.');
    auto header = protocol::base64url_decode(token.substr(0, dot));
    require(header.has_value());
    boost::system::error_code ec;
    auto h = json::parse(*header, ec);
    require(!ec && h.is_object());
    auto const* alg = h.as_object().if_contains("alg");
    require(alg && alg->is_string() && alg->get_string() == "HS256");
    require(!claims->sub.empty() && !claims->jti.empty());
    auto again = codec().verify(codec().sign(*claims), now);
    require(again.has_value() && *again == *claims);
}

void check_device_signature(std::string_view key, std::string_view nonce, std::string_view device_id,
                            std::string_view signature)
{
    auto expected = auth::device_signature(key, nonce, device_id);
    require(expected.size() == 64 && lower(expected) == expected);
    bool accepted = auth::verify_device_signature(key, nonce, device_id, signature);
    require(accepted == (signature.size() == 64 && lower(signature) == expected));
    require(auth::verify_device_signature(key, nonce, device_id, expected));

    auto decoded = auth::hex_decode(signature);
    if (decoded)
        require(auth::hex_encode(*decoded) == lower(signature));
    require(auth::hex_decode(auth::hex_encode(signature)) == std::string(signature));
}

/** The input split at its first three newlines into four fields (the last keeps the rest). */
std::array<std::string_view, 4> fields(std::string_view rest)
{
    std::array<std::string_view, 4> parts;
    for (int i = 0; i < 3; ++i) {
        auto nl = rest.find('\n');
        parts[i] = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    parts[3] = rest;
    return parts;
}

void check_public_key(std::string_view text)
{
    if (auto raw = auth::parse_device_public_key(text)) {
        require(raw->size() == 32);
        auto stored = auth::device_public_key_text(*raw);
        require(stored.size() == 43 && auth::parse_device_public_key(stored) == raw);
    }
    // Raw verification with any key bytes: false for a wrong size or a non-point, never a crash.
    if (text.size() >= 96)
        (void)auth::ed25519_verify(text.substr(0, 32), text.substr(96), text.substr(32, 64));
}

auth::device_private_key const& robot_key()
{
    // RFC 8032 section 7.1 TEST 1's secret key.
    static auto const key = *auth::device_private_key::from_seed(
        *auth::hex_decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
    return key;
}

void check_key_signature(std::string_view nonce, std::string_view device_id, std::string_view signature)
{
    auto const public_key = robot_key().public_key();
    auto expected = auth::device_key_signature(robot_key(), nonce, device_id);
    require(expected.size() == 128 && lower(expected) == expected);
    require(auth::verify_device_key_signature(public_key, nonce, device_id, expected));
    require(auth::verify_device_key_signature(public_key, nonce, device_id, signature) == (signature == expected));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size == 0)
        return 0;
    std::string_view rest(reinterpret_cast<char const*>(data) + 1, size - 1);
    switch (data[0] % 7) {
    case 0:
        check_token(rest);
        break;
    case 1:
        check_token(signed_token(R"({"alg":"HS256","typ":"JWT"})", rest));
        break;
    case 2:
        check_token(signed_token(rest, R"({"sub":"u1","iat":1799999000,"exp":1800003600,"jti":"j1","sid":"s1"})"));
        break;
    case 3: {
        // The robot's first message, as /ws/device reads it, checked against a fixed challenge.
        auto decoded = protocol::decode_device_inbound(rest);
        if (decoded.ok())
            if (auto const* m = std::get_if<protocol::device_auth>(&decoded.value()))
                check_device_signature(secret, "bm9uY2Ugb2YgdGhlIGZ1enplcg", m->device_id, m->signature);
        break;
    }
    case 4: {
        // secret \n nonce \n device_id \n signature
        auto parts = fields(rest);
        check_device_signature(parts[0], parts[1], parts[2], parts[3]);
        break;
    }
    case 5:
        check_public_key(rest);
        break;
    default: {
        // nonce \n device_id \n signature (a fourth field is ignored)
        auto parts = fields(rest);
        check_key_signature(parts[0], parts[1], parts[2]);
        break;
    }
    }
    return 0;
}
