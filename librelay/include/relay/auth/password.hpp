#pragma once
/** @file
 * Password storage with scrypt (RFC 7914) through OpenSSL's EVP_KDF, in PHC string form
 * `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (standard base64 without padding), plus the password
 * policy that registration and password reset enforce.
 */
#include <relay/protocol/errc.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::auth {

/** scrypt cost parameters. Memory per hash is about 128 · r · 2^ln bytes (32 MiB for the
 * defaults), which is what makes guessing on GPUs and ASICs expensive. */
struct scrypt_params {
    /** log2 of the CPU/memory cost N. */
    unsigned ln = 15;
    /** Block size. */
    std::uint32_t r = 8;
    /** Parallelism. */
    std::uint32_t p = 1;

    friend bool operator==(scrypt_params const&, scrypt_params const&) = default;
};

/** The outcome of checking a password against a stored hash. */
struct password_verdict {
    /** The password matches. */
    bool ok = false;
    /** Only when ok: the stored hash is weaker than the hasher's current settings (smaller ln,
     * r or p, or a short salt or hash), so the caller should store hash(password) now, while it
     * has the plaintext — hashes upgrade as users log in. */
    bool needs_rehash = false;
};

/** Hashes and verifies passwords with fixed scrypt parameters. Immutable, so one instance may
 * be shared by every thread; each call uses about 128 · r · 2^ln bytes while it runs. */
class password_hasher {
public:
    /** Random salt per hash. */
    static constexpr std::size_t salt_bytes = 16;
    /** Derived key length. */
    static constexpr std::size_t hash_bytes = 32;

    /** Throws std::invalid_argument when `params` are outside what verify accepts (ln 1..20,
     * r 1..32, p 1..16, at most 1 GiB of memory), so every hash we write can be checked again. */
    explicit password_hasher(scrypt_params params = {});

    /** A PHC string for `password` with a fresh random salt. Applies no policy (see
     * check_password_policy). Throws std::runtime_error if OpenSSL fails (out of memory). */
    std::string hash(std::string_view password) const;

    /** Whether `password` matches `encoded`, compared in constant time. Any malformed, unknown
     * or out-of-bounds encoded string (e.g. absurd parameters that would exhaust memory)
     * verifies false, and so does a password longer than max_password_bytes (bounded work per
     * login attempt); never throws on bad input. */
    password_verdict verify(std::string_view password, std::string_view encoded) const;

    /** The parameters new hashes are made with. */
    scrypt_params const& params() const noexcept { return params_; }

private:
    scrypt_params params_;
};

/** Why an input was refused: the wire code and a sentence to show the user. */
struct policy_violation {
    relay::errc code;
    std::string message;
};

/** Minimum password length in Unicode code points (not bytes), so "ünïcödé" counts as 7. */
inline constexpr std::size_t min_password_chars = 10;
/** Maximum password length in bytes: keeps the KDF input and request handling bounded. */
inline constexpr std::size_t max_password_bytes = 1024;

/** nullopt when `password` is acceptable for a new password; otherwise errc::weak_password with
 * a message saying what is wrong (too short, too long, not UTF-8, a NUL character). */
std::optional<policy_violation> check_password_policy(std::string_view password);

} // namespace relay::auth
