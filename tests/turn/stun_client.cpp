// STUN message encoding for the coturn tests. The MACs come from OpenSSL.
#include "stun_client.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <vector>

namespace turn_test {
namespace {

constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::uint16_t binding_request = 0x0001, binding_success = 0x0101;
constexpr std::uint16_t allocate_request = 0x0003, allocate_success = 0x0103, allocate_error = 0x0113;
constexpr std::uint16_t attr_username = 0x0006, attr_message_integrity = 0x0008, attr_error_code = 0x0009,
                        attr_realm = 0x0014, attr_nonce = 0x0015, attr_xor_relayed_address = 0x0016,
                        attr_requested_transport = 0x0019;

using bytes = std::vector<unsigned char>;

void put16(bytes& b, std::uint16_t v)
{
    b.push_back(static_cast<unsigned char>(v >> 8));
    b.push_back(static_cast<unsigned char>(v));
}

std::uint16_t get16(unsigned char const* p)
{
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

class message {
public:
    explicit message(std::uint16_t type)
    {
        put16(data_, type);
        put16(data_, 0);
        for (int shift = 24; shift >= 0; shift -= 8)
            data_.push_back(static_cast<unsigned char>(magic_cookie >> shift));
        std::array<unsigned char, 12> tid{};
        RAND_bytes(tid.data(), static_cast<int>(tid.size()));
        data_.insert(data_.end(), tid.begin(), tid.end());
    }

    void add(std::uint16_t type, std::string_view value)
    {
        put16(data_, type);
        put16(data_, static_cast<std::uint16_t>(value.size()));
        data_.insert(data_.end(), value.begin(), value.end());
        while (data_.size() % 4)
            data_.push_back(0);
        set_length(data_.size() - 20);
    }

    /** MESSAGE-INTEGRITY over everything so far, with the length counting the attribute. */
    void sign(std::string const& key)
    {
        set_length(data_.size() - 20 + 24);
        unsigned char mac[EVP_MAX_MD_SIZE];
        std::size_t len = 0;
        if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, key.data(), key.size(), data_.data(), data_.size(),
                       mac, sizeof mac, &len))
            throw std::runtime_error("HMAC-SHA1 failed");
        add(attr_message_integrity, std::string_view(reinterpret_cast<char const*>(mac), len));
    }

    bytes const& data() const noexcept { return data_; }
    unsigned char const* transaction_id() const noexcept { return data_.data() + 8; }

private:
    void set_length(std::size_t n)
    {
        data_[2] = static_cast<unsigned char>(n >> 8);
        data_[3] = static_cast<unsigned char>(n);
    }
    bytes data_;
};

struct response {
    std::uint16_t type = 0;
    int error_code = 0;
    std::string error_reason, realm, nonce, relayed;
};

std::optional<response> parse(bytes const& b, unsigned char const* tid)
{
    if (b.size() < 20 || std::equal(tid, tid + 12, b.data() + 8) == false)
        return std::nullopt;
    response r;
    r.type = get16(b.data());
    std::size_t end = std::min<std::size_t>(b.size(), 20 + get16(b.data() + 2));
    for (std::size_t at = 20; at + 4 <= end;) {
        std::uint16_t type = get16(b.data() + at);
        std::uint16_t len = get16(b.data() + at + 2);
        unsigned char const* v = b.data() + at + 4;
        if (at + 4 + len > end)
            break;
        std::string value(reinterpret_cast<char const*>(v), len);
        if (type == attr_error_code && len >= 4) {
            r.error_code = (v[2] & 0x7) * 100 + v[3];
            r.error_reason = value.substr(4);
        } else if (type == attr_realm) {
            r.realm = value;
        } else if (type == attr_nonce) {
            r.nonce = value;
        } else if (type == attr_xor_relayed_address && len >= 8 && v[1] == 0x01) {
            std::uint16_t port = get16(v + 2) ^ static_cast<std::uint16_t>(magic_cookie >> 16);
            std::uint32_t addr = ((std::uint32_t(v[4]) << 24) | (std::uint32_t(v[5]) << 16) |
                                  (std::uint32_t(v[6]) << 8) | v[7]) ^ magic_cookie;
            r.relayed = std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 0xff) + "." +
                        std::to_string((addr >> 8) & 0xff) + "." + std::to_string(addr & 0xff) + ":" +
                        std::to_string(port);
        }
        at += 4 + ((len + 3u) & ~3u);
    }
    return r;
}

/** A UDP socket talking to 127.0.0.1:port; requests are retransmitted like STUN's own timers. */
class udp_client {
public:
    explicit udp_client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0))
    {
        if (fd_ < 0)
            throw std::runtime_error("socket failed");
        timeval tv{0, 300000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
            throw std::runtime_error("connect failed");
    }
    ~udp_client() { ::close(fd_); }
    udp_client(udp_client const&) = delete;
    udp_client& operator=(udp_client const&) = delete;

    std::optional<response> transact(message const& m)
    {
        for (int attempt = 0; attempt < 7; ++attempt) {
            ::send(fd_, m.data().data(), m.data().size(), 0);
            bytes buf(2048);
            for (;;) {
                auto n = ::recv(fd_, buf.data(), buf.size(), 0);
                if (n < 0)
                    break; // timeout (or ICMP refused): send again
                buf.resize(static_cast<std::size_t>(n));
                if (auto r = parse(buf, m.transaction_id()))
                    return r;
                buf.resize(2048);
            }
        }
        return std::nullopt;
    }

private:
    int fd_;
};

std::string md5(std::string const& text)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(text.data(), text.size(), digest, &len, EVP_md5(), nullptr))
        throw std::runtime_error("MD5 failed");
    return std::string(reinterpret_cast<char const*>(digest), len);
}

message allocate()
{
    message m(allocate_request);
    m.add(attr_requested_transport, std::string_view("\x11\0\0\0", 4)); // UDP
    return m;
}

} // namespace

allocate_outcome turn_allocate(std::uint16_t port, std::string const& username, std::string const& password)
{
    udp_client client(port);
    allocate_outcome out;
    auto challenge = client.transact(allocate());
    if (!challenge || challenge->error_code != 401 || challenge->realm.empty() || challenge->nonce.empty())
        return out;
    std::string realm = challenge->realm, nonce = challenge->nonce;
    // A stale nonce (438) gets one more try with the fresh nonce, as RFC 5389 §10.2.3 says.
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto m = allocate();
        m.add(attr_username, username);
        m.add(attr_realm, realm);
        m.add(attr_nonce, nonce);
        m.sign(md5(username + ":" + realm + ":" + password));
        auto r = client.transact(m);
        if (!r)
            return out;
        out.answered = true;
        if (r->type == allocate_success) {
            out.error_code = 0;
            out.relayed_address = r->relayed;
            return out;
        }
        out.error_code = r->type == allocate_error ? r->error_code : -1;
        out.error_reason = r->error_reason;
        if (r->error_code != 438 || r->nonce.empty())
            return out;
        nonce = r->nonce;
    }
    return out;
}

bool stun_binding_ok(std::uint16_t port)
{
    udp_client client(port);
    message m(binding_request);
    auto r = client.transact(m);
    return r && r->type == binding_success;
}

} // namespace turn_test
