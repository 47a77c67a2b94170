#include <relay/auth/crypto.hpp>
#include <relay/auth/password.hpp>
#include <relay/protocol/base64.hpp>

#include "auth/openssl_util.hpp"
#include "auth/utf8.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <charconv>
#include <stdexcept>

namespace relay::auth {
namespace {

constexpr std::string_view phc_prefix = "$scrypt$";

// Bounds on what we compute, for our own hashes and for stored strings alike: an absurd stored
// parameter set must fail fast instead of exhausting memory or CPU.
constexpr unsigned max_ln = 20;
constexpr std::uint32_t max_r = 32;
constexpr std::uint32_t max_p = 16;
constexpr std::uint64_t max_memory_bytes = std::uint64_t{1} << 30;
constexpr std::size_t min_stored_salt = 1, max_stored_salt = 64;
constexpr std::size_t min_stored_hash = 16, max_stored_hash = 64;

// The memory scrypt needs for these parameters, as OpenSSL counts it against maxmem:
// B = 128·r·p and V = 128·r·(N+2).
std::uint64_t scrypt_memory(scrypt_params const& p) noexcept
{
    std::uint64_t const n = std::uint64_t{1} << p.ln;
    return 128ull * p.r * p.p + 128ull * p.r * (n + 2);
}

bool supported(scrypt_params const& p) noexcept
{
    if (p.ln < 1 || p.ln > max_ln || p.r < 1 || p.r > max_r || p.p < 1 || p.p > max_p)
        return false;
    // RFC 7914 requires N < 2^(128·r/8); only bites for r = 1 (ln <= 15).
    if (p.ln >= 16 * p.r)
        return false;
    return 128ull * p.r * (std::uint64_t{1} << p.ln) <= max_memory_bytes;
}

// scrypt through OpenSSL's provider API; false if OpenSSL refuses or fails.
bool derive(std::string_view password, std::string_view salt, scrypt_params const& p, std::string& out)
{
    detail::kdf_ptr kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
    if (!kdf)
        return false;
    detail::kdf_ctx_ptr ctx(EVP_KDF_CTX_new(kdf.get()));
    if (!ctx)
        return false;
    std::uint64_t n = std::uint64_t{1} << p.ln;
    std::uint32_t r = p.r;
    std::uint32_t par = p.p;
    // maxmem must cover what these parameters need, or OpenSSL refuses (its default is 32 MiB,
    // just short of ln=15, r=8); a little slack for rounding.
    std::uint64_t maxmem = scrypt_memory(p) + 65536;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
            const_cast<unsigned char*>(detail::bytes_of(password)), password.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
            const_cast<unsigned char*>(detail::bytes_of(salt)), salt.size()),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    return EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), params) == 1;
}

std::optional<std::uint32_t> parse_number(std::string_view text) noexcept
{
    if (text.empty() || text.size() > 9 || (text.size() > 1 && text[0] == '0'))
        return std::nullopt;
    std::uint32_t v = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return v;
}

// "name=<number>" followed by `sep` (or the end when sep is '\0'); advances `text`.
std::optional<std::uint32_t> parse_param(std::string_view& text, std::string_view name, char sep)
{
    if (text.substr(0, name.size()) != name || text.substr(name.size(), 1) != "=")
        return std::nullopt;
    text.remove_prefix(name.size() + 1);
    auto const end = sep == '\0' ? text.size() : text.find(sep);
    if (end == std::string_view::npos)
        return std::nullopt;
    auto const v = parse_number(text.substr(0, end));
    text.remove_prefix(sep == '\0' ? end : end + 1);
    return v;
}

// PHC fields are unpadded base64; padding or anything else non-canonical is refused.
std::optional<std::string> decode_phc_field(std::string_view text)
{
    if (text.find('=') != std::string_view::npos)
        return std::nullopt;
    return protocol::base64_decode(text, protocol::base64_padding::optional);
}

struct stored_hash {
    scrypt_params params;
    std::string salt;
    std::string hash;
};

std::optional<stored_hash> parse_phc(std::string_view encoded)
{
    if (encoded.substr(0, phc_prefix.size()) != phc_prefix)
        return std::nullopt;
    encoded.remove_prefix(phc_prefix.size());
    auto const params_end = encoded.find('$');
    if (params_end == std::string_view::npos)
        return std::nullopt;
    auto params_text = encoded.substr(0, params_end);
    auto const rest = encoded.substr(params_end + 1);
    auto const salt_end = rest.find('$');
    if (salt_end == std::string_view::npos)
        return std::nullopt;
    auto const salt_text = rest.substr(0, salt_end);
    auto const hash_text = rest.substr(salt_end + 1);
    if (hash_text.find('$') != std::string_view::npos)
        return std::nullopt;

    auto const ln = parse_param(params_text, "ln", ',');
    auto const r = ln ? parse_param(params_text, "r", ',') : std::nullopt;
    auto const p = r ? parse_param(params_text, "p", '\0') : std::nullopt;
    if (!p || !params_text.empty())
        return std::nullopt;
    auto salt = decode_phc_field(salt_text);
    auto hash = decode_phc_field(hash_text);
    if (!salt || !hash)
        return std::nullopt;
    if (salt->size() < min_stored_salt || salt->size() > max_stored_salt || hash->size() < min_stored_hash
        || hash->size() > max_stored_hash)
        return std::nullopt;
    return stored_hash{{*ln, *r, *p}, std::move(*salt), std::move(*hash)};
}

} // namespace

password_hasher::password_hasher(scrypt_params params)
    : params_(params)
{
    if (!supported(params_))
        throw std::invalid_argument("unsupported scrypt parameters: ln must be 1..20 (and below 16·r), r 1..32, "
                                    "p 1..16, and 128·r·2^ln at most 1 GiB");
}

std::string password_hasher::hash(std::string_view password) const
{
    auto const salt = random_bytes(salt_bytes);
    std::string out(hash_bytes, '\0');
    if (!derive(password, salt, params_, out))
        detail::throw_openssl_error("EVP_KDF_derive(SCRYPT)");
    return std::string(phc_prefix) + "ln=" + std::to_string(params_.ln) + ",r=" + std::to_string(params_.r)
        + ",p=" + std::to_string(params_.p) + "$" + protocol::base64_encode_unpadded(salt) + "$" + protocol::base64_encode_unpadded(out);
}

password_verdict password_hasher::verify(std::string_view password, std::string_view encoded) const
{
    auto const stored = parse_phc(encoded);
    if (!stored || !supported(stored->params) || password.size() > max_password_bytes)
        return {};
    std::string candidate(stored->hash.size(), '\0');
    if (!derive(password, stored->salt, stored->params, candidate))
        return {};
    if (!constant_time_equal(candidate, stored->hash))
        return {};
    auto const& s = stored->params;
    bool const weaker = s.ln < params_.ln || s.r < params_.r || s.p < params_.p || stored->salt.size() < salt_bytes
        || stored->hash.size() < hash_bytes;
    return {true, weaker};
}

std::optional<policy_violation> check_password_policy(std::string_view password)
{
    if (password.size() > max_password_bytes)
        return policy_violation{relay::errc::weak_password,
            "the password must be at most " + std::to_string(max_password_bytes) + " bytes long"};
    // No one types a NUL, and a client that passes the password on as a C string would cut it there.
    if (password.find('\0') != std::string_view::npos)
        return policy_violation{relay::errc::weak_password, "the password must not contain NUL characters"};
    auto const chars = detail::utf8_code_points(password);
    if (!chars)
        return policy_violation{relay::errc::weak_password, "the password must be valid UTF-8 text"};
    if (*chars < min_password_chars)
        return policy_violation{relay::errc::weak_password,
            "the password must be at least " + std::to_string(min_password_chars) + " characters long"};
    return std::nullopt;
}

} // namespace relay::auth
