// The STUN codec against the test vectors of RFC 5769 (sample request, IPv4 and IPv6 responses,
// request with long-term authentication), hostile input, and the TURN URL grammar.
#include <relay/turn/stun.hpp>
#include <relay/turn/turn_client.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace relay::turn;

namespace {

std::string bytes(std::vector<unsigned> const& v)
{
    std::string out;
    for (auto b : v)
        out += static_cast<char>(b);
    return out;
}

// RFC 5769 §2.1: short-term credentials, padding with spaces (0x20), MESSAGE-INTEGRITY and
// FINGERPRINT.
std::string const sample_request = bytes({
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
    0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f,
    0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
    0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
});
// §2.2: the IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
std::string const sample_ipv4_response = bytes({
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
    0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91,
    0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
});
// §2.3: the IPv6 response, XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
std::string const sample_ipv6_response = bytes({
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87,
    0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25,
    0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb,
    0x0b, 0x4c,
});
std::string const short_term_password = "VOkJxbRl1RmTxUk/WvJxBt";

// §2.4: long-term authentication, padded with zero bytes, no FINGERPRINT.
std::string const long_term_request = bytes({
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda,
    0x41, 0x2e, 0x00, 0x06, 0x00, 0x12, 0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
    0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39,
    0x6b, 0x39, 0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
    0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
    0x67, 0x00, 0x00, 0x08, 0x00, 0x14, 0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
    0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
});
// "マトリックス" in UTF-8, and the password "The\u00adM\u00aatr\u2168" after SASLprep.
std::string const long_term_username = bytes({0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa,
                                              0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9});
std::string const long_term_password = "TheMatrIX";

stun::transaction_id id_of(std::string const& message)
{
    stun::transaction_id id{};
    for (std::size_t i = 0; i < id.size(); ++i)
        id[i] = static_cast<std::uint8_t>(message[8 + i]);
    return id;
}

} // namespace

TEST_CASE("stun: RFC 5769 sample request: attributes, MESSAGE-INTEGRITY and FINGERPRINT check out")
{
    auto m = stun::message::parse(sample_request);
    REQUIRE(m.has_value());
    CHECK(m->type() == stun::type::binding_request);
    CHECK(m->id() == id_of(sample_request));
    CHECK(m->find(stun::attr::software) == "STUN test client");
    CHECK(m->find(stun::attr::username) == "evtj:h6vY");
    // Short-term credentials: the key is the password itself.
    CHECK(m->integrity_valid(short_term_password));
    CHECK_FALSE(m->integrity_valid("another password"));
    CHECK(m->fingerprint_valid());

    // One flipped bit in the username breaks both.
    auto tampered = sample_request;
    tampered[64] ^= 0x01;
    auto t = stun::message::parse(tampered);
    REQUIRE(t.has_value());
    CHECK_FALSE(t->integrity_valid(short_term_password));
    CHECK_FALSE(t->fingerprint_valid());
}

TEST_CASE("stun: RFC 5769 IPv4 and IPv6 responses: XOR-MAPPED-ADDRESS, integrity, fingerprint")
{
    auto v4 = stun::message::parse(sample_ipv4_response);
    REQUIRE(v4.has_value());
    CHECK(v4->type() == stun::type::binding_success);
    CHECK(v4->find(stun::attr::software) == "test vector");
    CHECK(v4->xor_address(stun::attr::xor_mapped_address) == "192.0.2.1:32853");
    CHECK(v4->integrity_valid(short_term_password));
    CHECK(v4->fingerprint_valid());

    auto v6 = stun::message::parse(sample_ipv6_response);
    REQUIRE(v6.has_value());
    CHECK(v6->xor_address(stun::attr::xor_mapped_address) == "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    CHECK(v6->integrity_valid(short_term_password));
    CHECK(v6->fingerprint_valid());
    CHECK_FALSE(v6->xor_address(stun::attr::xor_relayed_address)); // absent
}

TEST_CASE("stun: RFC 5769 long-term authentication: the builder reproduces the sample byte for byte")
{
    auto key = stun::long_term_key(long_term_username, "example.org", long_term_password);
    CHECK(key.size() == 16);
    auto m = stun::message::parse(long_term_request);
    REQUIRE(m.has_value());
    CHECK(m->integrity_valid(key));
    CHECK_FALSE(m->integrity_valid(stun::long_term_key(long_term_username, "example.org", "TheMatrix")));
    CHECK_FALSE(m->fingerprint_valid()); // the sample has none

    auto built = stun::message_builder(stun::type::binding_request, id_of(long_term_request))
                     .add(stun::attr::username, long_term_username)
                     .add(stun::attr::nonce, "f//499k954d6OL34oL9FSTvy64sA")
                     .add(stun::attr::realm, "example.org")
                     .add_message_integrity(key)
                     .bytes();
    CHECK(built == long_term_request);
}

TEST_CASE("stun: built requests carry a FINGERPRINT the parser accepts, and ERROR-CODE is read")
{
    auto id = stun::random_transaction_id();
    auto request = stun::message_builder(stun::type::allocate_request, id)
                       .add_u32(stun::attr::requested_transport, 17u << 24)
                       .add(stun::attr::username, "1700000000:relay-probe")
                       .add_message_integrity("key")
                       .add_fingerprint()
                       .bytes();
    auto m = stun::message::parse(request);
    REQUIRE(m.has_value());
    CHECK(m->id() == id);
    CHECK(m->integrity_valid("key"));
    CHECK(m->fingerprint_valid());
    CHECK(stun::frame_size(request.substr(0, stun::header_size)) == request.size());

    auto answer = stun::message_builder(stun::type::allocate_error, id)
                      .add(stun::attr::error_code, std::string("\0\0\x04\x01Unauthorized", 16))
                      .bytes();
    auto e = stun::message::parse(answer);
    REQUIRE(e.has_value());
    REQUIRE(e->error());
    CHECK(e->error()->code == 401);
    CHECK(e->error()->reason == "Unauthorized");
}

TEST_CASE("stun: malformed input is refused without throwing")
{
    CHECK_FALSE(stun::message::parse("").has_value());
    CHECK_FALSE(stun::message::parse(sample_request.substr(0, 19)).has_value());
    // Wrong magic cookie, leading bits set, a length that does not match, odd length.
    auto cookie = sample_request;
    cookie[5] = 0;
    CHECK_FALSE(stun::message::parse(cookie).has_value());
    auto bits = sample_request;
    bits[0] = static_cast<char>(0x80);
    CHECK_FALSE(stun::message::parse(bits).has_value());
    CHECK_FALSE(stun::message::parse(sample_request.substr(0, sample_request.size() - 4)).has_value());
    auto odd = sample_request;
    odd[3] = 0x57;
    CHECK_FALSE(stun::message::parse(odd).has_value());
    // An attribute whose length runs past the end.
    auto overrun = sample_request;
    overrun[22] = 0x7f;
    CHECK_FALSE(stun::message::parse(overrun).has_value());
    // Every truncation and every single-byte corruption parses or fails, never crashes.
    for (std::size_t i = 0; i < sample_request.size(); ++i) {
        (void)stun::message::parse(sample_request.substr(0, i));
        auto c = sample_request;
        c[i] = static_cast<char>(~c[i]);
        if (auto m = stun::message::parse(c)) {
            (void)m->error();
            (void)m->xor_address(stun::attr::xor_mapped_address);
            (void)m->integrity_valid(short_term_password);
            (void)m->fingerprint_valid();
        }
    }
    // A short ERROR-CODE or address is absent, not a crash.
    auto id = stun::random_transaction_id();
    auto m = stun::message::parse(stun::message_builder(stun::type::allocate_error, id)
                                      .add(stun::attr::error_code, "ab")
                                      .add(stun::attr::xor_relayed_address, "abc")
                                      .bytes());
    REQUIRE(m.has_value());
    CHECK_FALSE(m->error());
    CHECK_FALSE(m->xor_address(stun::attr::xor_relayed_address));
    CHECK_FALSE(stun::frame_size("not a STUN header at all"));
}

TEST_CASE("turn URLs: scheme, host, port and transport (RFC 7064, RFC 7065)")
{
    std::string why;
    auto udp = parse_server_url("turn:turn.example.com", why);
    REQUIRE(udp);
    CHECK(udp->transport == turn_transport::udp);
    CHECK(udp->host == "turn.example.com");
    CHECK(udp->port == 3478);

    auto tcp = parse_server_url("turn:127.0.0.1:3479?transport=tcp", why);
    REQUIRE(tcp);
    CHECK(tcp->transport == turn_transport::tcp);
    CHECK(tcp->port == 3479);

    auto tls = parse_server_url("turns:turn.example.com?transport=tcp", why);
    REQUIRE(tls);
    CHECK(tls->transport == turn_transport::tls);
    CHECK(tls->port == 5349);

    auto v6 = parse_server_url("turn:[::1]:3480?transport=udp", why);
    REQUIRE(v6.has_value());
    CHECK(v6->host == "::1");
    CHECK(v6->port == 3480);

    CHECK(parse_server_url("stun:stun.example.com:19302", why));
    for (auto bad : {"http://example.com", "turn:", "turn:host:99999", "turn:host?transport=sctp",
                     "turns:host?transport=udp", "turn:user@host", "turn"}) {
        CAPTURE(bad);
        why.clear();
        CHECK_FALSE(parse_server_url(bad, why).has_value());
        CHECK_FALSE(why.empty());
    }
}
