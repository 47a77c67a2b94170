// The TURN client: one coroutine per exchange over a channel (UDP with retransmissions, or a
// TCP/TLS stream with one deadline), and the blocking wrappers that drive it on a private
// io_context. Everything received goes through stun::message::parse, which never throws.
#include "turn_client.hpp"

#include "tls_client.hpp"

#include <relay/turn/stun.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/url/authority_view.hpp>
#include <boost/url/parse_query.hpp>

#include <relay/protocol/validation.hpp>

#include <algorithm>
#include <exception>
#include <optional>

namespace relay::turn {
namespace detail {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using udp = net::ip::udp;
using clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
/** REQUESTED-TRANSPORT's value for UDP (protocol 17), the only one RFC 8656 allocates. */
constexpr std::uint32_t udp_transport = 17u << 24;
/** RFC 8489 §6.2.1: Rc, the number of sends, and Rm, the last wait in RTOs. */
constexpr int udp_sends = 7;
constexpr int last_wait_rtos = 16;
/** The largest answer read: a TURN answer is well under a kilobyte. */
constexpr std::size_t max_answer = 4096;

std::string milliseconds_text(std::chrono::milliseconds d)
{
    return std::to_string(d.count()) + " ms";
}

/** An exchange's answer, or why there is none. */
struct transaction_result {
    std::optional<stun::message> answer;
    outcome_kind failure = outcome_kind::timeout;
    std::string why;
};

/** Sends requests and returns the answer with the same transaction id, whatever the transport. */
class channel {
public:
    virtual ~channel() = default;
    /** Resolves and connects (and for TLS, handshakes); `why` is empty when it worked. */
    virtual net::awaitable<transaction_result> open(server_address const& server, clock::time_point deadline) = 0;
    virtual net::awaitable<transaction_result> transact(std::string const& request, stun::transaction_id const& id,
                                                        clock::time_point deadline) = 0;
};

/** What a failed socket operation means for the outcome. */
transaction_result failed(error_code ec, std::chrono::milliseconds timeout)
{
    if (ec == beast::error::timeout || ec == net::error::operation_aborted || ec == net::error::timed_out)
        return {std::nullopt, outcome_kind::timeout, "no answer within " + milliseconds_text(timeout)};
    if (ec == net::error::connection_refused)
        return {std::nullopt, outcome_kind::unreachable, "connection refused"};
    return {std::nullopt, outcome_kind::unreachable, ec.message()};
}

/** A UDP socket and the generation of the timer allowed to cancel its receive. */
struct guarded_udp {
    explicit guarded_udp(net::any_io_executor ex) : socket(ex) {}
    udp::socket socket;
    std::uint64_t generation = 0;
};

class udp_channel final : public channel {
public:
    udp_channel(net::any_io_executor ex, client_options const& options)
        : options_(options), socket_(std::make_shared<guarded_udp>(ex)), timer_(ex)
    {
    }

    net::awaitable<transaction_result> open(server_address const& server, clock::time_point) override
    {
        udp::resolver resolver(co_await net::this_coro::executor);
        auto port = std::to_string(server.port);
        auto [ec, found] = co_await resolver.async_resolve(server.host, port, use_tuple);
        if (ec || found.empty())
            co_return transaction_result{std::nullopt, outcome_kind::unreachable,
                                         "cannot resolve " + server.host + ": " + ec.message()};
        udp::endpoint to = *found.begin();
        // Connected: the kernel drops datagrams from anyone else and reports ICMP refusals.
        socket_->socket.open(to.protocol(), ec);
        if (!ec)
            socket_->socket.connect(to, ec);
        if (ec)
            co_return failed(ec, options_.timeout);
        co_return transaction_result{};
    }

    net::awaitable<transaction_result> transact(std::string const& request, stun::transaction_id const& id,
                                                clock::time_point deadline) override
    {
        auto rto = options_.initial_rto;
        std::string buffer(max_answer, '\0');
        for (int send = 1; send <= udp_sends && clock::now() < deadline; ++send) {
            auto [sent_ec, sent] = co_await socket_->socket.async_send(net::buffer(request), use_tuple);
            if (sent_ec)
                co_return failed(sent_ec, options_.timeout);
            // After the last send, wait Rm times the initial RTO (RFC 8489 §6.2.1).
            auto wait = send == udp_sends ? options_.initial_rto * last_wait_rtos : rto;
            auto until = std::min(clock::now() + wait, deadline);
            for (;;) {
                arm(until);
                auto [ec, n] = co_await socket_->socket.async_receive(net::buffer(buffer), use_tuple);
                disarm();
                if (ec == net::error::operation_aborted)
                    break; // this wait is over: send again
                if (ec)
                    co_return failed(ec, options_.timeout);
                auto parsed = stun::message::parse(std::string_view(buffer.data(), n));
                if (parsed && parsed->id() == id)
                    co_return transaction_result{std::move(*parsed), outcome_kind::ok, {}};
                // Anything else (a stray or late datagram) is ignored, as RFC 8489 §6.3 says.
            }
            rto *= 2;
        }
        co_return failed(net::error::timed_out, options_.timeout);
    }

private:
    /** Cancels the pending receive at `when`; a later arm() or disarm() makes it harmless. */
    void arm(clock::time_point when)
    {
        auto generation = ++socket_->generation;
        timer_.expires_at(when);
        timer_.async_wait([weak = std::weak_ptr<guarded_udp>(socket_), generation](error_code ec) {
            auto s = weak.lock();
            if (ec || !s || s->generation != generation)
                return;
            error_code ignored;
            s->socket.cancel(ignored);
        });
    }

    void disarm()
    {
        ++socket_->generation;
        timer_.cancel();
    }

    client_options const& options_;
    std::shared_ptr<guarded_udp> socket_;
    net::steady_timer timer_;
};

/** TCP, or TLS over TCP: STUN messages framed by their own length field (RFC 8489 §6.2.2). */
template <class Stream> class stream_channel final : public channel {
public:
    template <class... Args>
    explicit stream_channel(client_options const& options, Args&&... args)
        : options_(options), stream_(std::forward<Args>(args)...)
    {
    }

    net::awaitable<transaction_result> open(server_address const& server, clock::time_point deadline) override
    {
        tcp::resolver resolver(co_await net::this_coro::executor);
        auto port = std::to_string(server.port);
        auto [ec, found] = co_await resolver.async_resolve(server.host, port, use_tuple);
        if (ec)
            co_return transaction_result{std::nullopt, outcome_kind::unreachable,
                                         "cannot resolve " + server.host + ": " + ec.message()};
        auto& lowest = beast::get_lowest_layer(stream_);
        lowest.expires_at(deadline);
        auto [connect_ec, endpoint] = co_await lowest.async_connect(found, use_tuple);
        if (connect_ec)
            co_return failed(connect_ec, options_.timeout);
        if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
            host_ = server.host;
            if (!expect_server_name(stream_, host_))
                co_return transaction_result{std::nullopt, outcome_kind::unreachable, "cannot set the TLS server name"};
            auto [tls_ec] = co_await stream_.async_handshake(net::ssl::stream_base::client, use_tuple);
            if (tls_ec) {
                auto untrusted = untrusted_certificate(stream_.native_handle(), host_);
                if (!untrusted.empty())
                    co_return transaction_result{std::nullopt, outcome_kind::unreachable, untrusted};
                auto f = failed(tls_ec, options_.timeout);
                f.why = "TLS handshake with " + host_ + " failed: " + f.why;
                co_return f;
            }
        }
        co_return transaction_result{};
    }

    net::awaitable<transaction_result> transact(std::string const& request, stun::transaction_id const& id,
                                                clock::time_point deadline) override
    {
        // A reliable transport: one send, then wait until the deadline (no retransmissions).
        beast::get_lowest_layer(stream_).expires_at(deadline);
        auto [ec, sent] = co_await net::async_write(stream_, net::buffer(request), use_tuple);
        if (ec)
            co_return failed(ec, options_.timeout);
        for (;;) {
            std::string frame(stun::header_size, '\0');
            auto [header_ec, got] = co_await net::async_read(stream_, net::buffer(frame), use_tuple);
            if (header_ec)
                co_return failed(header_ec, options_.timeout);
            auto size = stun::frame_size(frame);
            if (!size || *size > max_answer)
                co_return transaction_result{std::nullopt, outcome_kind::bad_answer, "the server did not answer in STUN"};
            frame.resize(*size);
            auto [body_ec, body] = co_await net::async_read(
                stream_, net::buffer(frame.data() + stun::header_size, *size - stun::header_size), use_tuple);
            if (body_ec)
                co_return failed(body_ec, options_.timeout);
            auto parsed = stun::message::parse(frame);
            if (!parsed)
                co_return transaction_result{std::nullopt, outcome_kind::bad_answer, "the server sent a malformed STUN message"};
            if (parsed->id() == id)
                co_return transaction_result{std::move(*parsed), outcome_kind::ok, {}};
        }
    }

private:
    client_options const& options_;
    Stream stream_;
    std::string host_; // for SNI and verification; outlives the handshake
};

using tls_stream = net::ssl::stream<beast::tcp_stream>;

std::unique_ptr<channel> make_channel(net::any_io_executor ex, server_address const& server,
                                      client_options const& options, net::ssl::context& tls)
{
    switch (server.transport) {
    case turn_transport::udp:
        return std::make_unique<udp_channel>(ex, options);
    case turn_transport::tcp:
        return std::make_unique<stream_channel<beast::tcp_stream>>(options, ex);
    case turn_transport::tls:
        break;
    }
    return std::make_unique<stream_channel<tls_stream>>(options, ex, tls);
}

/** "401 Unauthorized": the code and the server's reason phrase. */
std::string describe(stun::error_answer const& e)
{
    return e.reason.empty() ? std::to_string(e.code) : std::to_string(e.code) + " " + e.reason;
}

/** The long-term credential state after the 401 challenge (RFC 8489 §9.2). */
struct session {
    std::string username, realm, nonce, key;

    std::string request(std::uint16_t type, stun::transaction_id const& id, std::optional<std::uint32_t> lifetime) const
    {
        stun::message_builder b(type, id);
        if (type == stun::type::allocate_request)
            b.add_u32(stun::attr::requested_transport, udp_transport);
        if (lifetime)
            b.add_u32(stun::attr::lifetime, *lifetime);
        b.add(stun::attr::username, username).add(stun::attr::realm, realm).add(stun::attr::nonce, nonce);
        b.add_message_integrity(key).add_fingerprint();
        return b.bytes();
    }
};

/**
 * An authenticated request, sent again once with the fresh nonce when the server says the
 * nonce went stale (438, RFC 8489 §9.2.5).
 */
net::awaitable<transaction_result> authenticated(channel& ch, session& s, std::uint16_t type,
                                                 std::optional<std::uint32_t> lifetime, clock::time_point deadline)
{
    transaction_result r;
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto id = stun::random_transaction_id();
        auto bytes = s.request(type, id, lifetime);
        r = co_await ch.transact(bytes, id, deadline);
        if (!r.answer)
            co_return r;
        auto error = r.answer->error();
        auto nonce = r.answer->find(stun::attr::nonce);
        if (!error || error->code != 438 || !nonce)
            co_return r;
        s.nonce = std::string(*nonce);
    }
    co_return r;
}

allocation_outcome failure_outcome(transaction_result const& r)
{
    allocation_outcome out;
    out.kind = r.failure;
    out.answer = r.why;
    return out;
}

allocation_outcome refusal(stun::message const& answer)
{
    allocation_outcome out;
    if (auto e = answer.error()) {
        out.kind = outcome_kind::refused;
        out.error_code = e->code;
        out.answer = describe(*e);
    } else {
        out.kind = outcome_kind::bad_answer;
        out.answer = "an error answer without ERROR-CODE";
    }
    return out;
}

} // namespace

std::unique_ptr<net::ssl::context> make_turn_tls_context(std::string const& ca_file)
{
    auto tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    configure_tls_client(*tls, ca_file);
    return tls;
}

// GCC 12 warns that this coroutine's frame is freed by a mismatched delete: a false positive on
// Asio's frame allocator (GCC bug 109224); the other coroutines here escape it by luck.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
net::awaitable<allocation_outcome> async_allocate_and_release(std::string const& url, std::string const& username,
                                                              std::string const& password,
                                                              client_options const& options, net::ssl::context& tls)
{
    auto ex = co_await net::this_coro::executor;
    std::string why;
    auto server = parse_server_url(url, why);
    if (!server)
        co_return allocation_outcome{outcome_kind::unreachable, {}, 0, why, false};
    auto deadline = clock::now() + options.timeout;
    auto ch = make_channel(ex, *server, options, tls);
    auto opened = co_await ch->open(*server, deadline);
    if (!opened.why.empty())
        co_return failure_outcome(opened);

    // First without credentials: the server answers 401 with its REALM and a NONCE.
    auto id = stun::random_transaction_id();
    auto first = stun::message_builder(stun::type::allocate_request, id)
                     .add_u32(stun::attr::requested_transport, udp_transport)
                     .add_fingerprint()
                     .bytes();
    auto challenge = co_await ch->transact(first, id, deadline);
    if (!challenge.answer)
        co_return failure_outcome(challenge);
    auto realm = challenge.answer->find(stun::attr::realm);
    auto nonce = challenge.answer->find(stun::attr::nonce);
    auto challenge_error = challenge.answer->error();
    if (!challenge_error || challenge_error->code != 401 || !realm || !nonce)
        co_return refusal(*challenge.answer);

    session s{username, std::string(*realm), std::string(*nonce), stun::long_term_key(username, *realm, password)};
    auto allocated = co_await authenticated(*ch, s, stun::type::allocate_request, std::nullopt, deadline);
    if (!allocated.answer)
        co_return failure_outcome(allocated);
    if (allocated.answer->type() != stun::type::allocate_success)
        co_return refusal(*allocated.answer);
    // A success must prove it came from a server that knows the key.
    if (!allocated.answer->integrity_valid(s.key))
        co_return allocation_outcome{outcome_kind::bad_answer, {}, 0, "the answer failed MESSAGE-INTEGRITY", false};
    auto relayed = allocated.answer->xor_address(stun::attr::xor_relayed_address);
    if (!relayed)
        co_return allocation_outcome{outcome_kind::bad_answer, {}, 0, "allocated without XOR-RELAYED-ADDRESS", false};

    allocation_outcome out{outcome_kind::ok, *relayed, 0, "allocated " + *relayed, false};
    // Released at once (LIFETIME 0) rather than left to expire: the probe must not hold a relay
    // port for ten minutes every time it runs.
    auto released = co_await authenticated(*ch, s, stun::type::refresh_request, 0u, deadline);
    if (released.answer && released.answer->type() == stun::type::refresh_success) {
        out.released = true;
        out.answer += ", released";
    } else {
        out.answer += ", not released (" +
                      (released.answer ? (released.answer->error() ? describe(*released.answer->error()) : "no error code")
                                       : released.why) +
                      ")";
    }
    co_return out;
}

#pragma GCC diagnostic pop

net::awaitable<binding_outcome> async_stun_binding(std::string const& url, client_options const& options,
                                                   net::ssl::context& tls)
{
    auto ex = co_await net::this_coro::executor;
    std::string why;
    auto server = parse_server_url(url, why);
    if (!server)
        co_return binding_outcome{false, {}, why};
    auto deadline = clock::now() + options.timeout;
    auto ch = make_channel(ex, *server, options, tls);
    auto opened = co_await ch->open(*server, deadline);
    if (!opened.why.empty())
        co_return binding_outcome{false, {}, opened.why};
    auto id = stun::random_transaction_id();
    auto request = stun::message_builder(stun::type::binding_request, id).add_fingerprint().bytes();
    auto r = co_await ch->transact(request, id, deadline);
    if (!r.answer)
        co_return binding_outcome{false, {}, r.why};
    if (r.answer->type() != stun::type::binding_success)
        co_return binding_outcome{false, {}, r.answer->error() ? describe(*r.answer->error()) : "not a success"};
    auto mapped = r.answer->xor_address(stun::attr::xor_mapped_address);
    co_return binding_outcome{true, mapped.value_or(""), {}};
}

net::awaitable<probe_report> async_probe(credentials_result const& credentials, client_options const& options,
                                         net::ssl::context& tls)
{
    probe_report report;
    if (!credentials) {
        report.credentials_failure = credentials.error().reason;
        co_return report;
    }
    for (auto const& url : probe_targets(*credentials)) {
        // One after the other: a probe is a handful of URLs, and a TURN server is not a target
        // for bursts.
        auto outcome = co_await async_allocate_and_release(url, credentials->username, credentials->credential,
                                                           options, tls);
        report.urls.push_back({url, std::move(outcome)});
    }
    co_return report;
}

} // namespace detail

namespace {

/** Runs `make()`'s coroutine on a private io_context and returns its result; an exception
 * (OpenSSL failing) becomes `on_error(what)`. */
template <class T, class Make, class OnError> T run_private(Make make, OnError on_error)
{
    boost::asio::io_context io(1);
    std::optional<T> result;
    std::string failure;
    boost::asio::co_spawn(io, make(), [&](std::exception_ptr e, T value) {
        if (!e) {
            result = std::move(value);
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (std::exception const& ex) {
            failure = ex.what();
        }
    });
    io.run();
    return result ? std::move(*result) : on_error(failure);
}

} // namespace

std::string_view to_string(outcome_kind k) noexcept
{
    switch (k) {
    case outcome_kind::ok: return "ok";
    case outcome_kind::refused: return "refused";
    case outcome_kind::timeout: return "timeout";
    case outcome_kind::unreachable: return "unreachable";
    case outcome_kind::bad_answer: return "bad_answer";
    }
    return "unknown";
}

std::optional<server_address> parse_server_url(std::string_view url, std::string& why)
{
    namespace urls = boost::urls;
    // RFC 7064/7065 URIs have no "//": after the scheme come host[:port] (an authority, which
    // Boost.URL parses, IPv6 literals included) and an optional query.
    auto colon = url.find(':');
    auto scheme = url.substr(0, colon == std::string_view::npos ? 0 : colon);
    bool secure = scheme == "turns" || scheme == "stuns";
    if (scheme != "turn" && scheme != "turns" && scheme != "stun" && scheme != "stuns") {
        why = "'" + std::string(url) + "' is not a turn:, turns:, stun: or stuns: URL";
        return std::nullopt;
    }
    auto rest = url.substr(colon + 1);
    auto question = rest.find('?');
    auto authority = urls::parse_authority(rest.substr(0, question));
    if (!authority || authority->has_userinfo() || authority->host_address().empty()) {
        why = "'" + std::string(url) + "' must be " + std::string(scheme) + ":host[:port]";
        return std::nullopt;
    }
    server_address out;
    out.host = authority->host_address();
    out.port = secure ? 5349 : 3478;
    if (authority->has_port()) {
        auto port = protocol::parse_port(authority->port());
        if (!port || *port == 0) {
            why = "'" + std::string(url) + "' has an invalid port";
            return std::nullopt;
        }
        out.port = *port;
    }
    out.transport = secure ? turn_transport::tls : turn_transport::udp;
    if (question == std::string_view::npos)
        return out;
    auto query = urls::parse_query(rest.substr(question + 1));
    if (!query) {
        why = "'" + std::string(url) + "' has a malformed query";
        return std::nullopt;
    }
    for (auto const& param : *query) {
        if (param.key != "transport")
            continue;
        if (param.value == "tcp")
            out.transport = secure ? turn_transport::tls : turn_transport::tcp;
        else if (param.value != "udp" || secure) {
            why = "'" + std::string(url) + "' has an unsupported transport";
            return std::nullopt;
        }
    }
    return out;
}

allocation_outcome allocate_and_release(std::string_view url, std::string const& username, std::string const& password,
                                        client_options const& options)
{
    std::unique_ptr<boost::asio::ssl::context> tls;
    try {
        tls = detail::make_turn_tls_context(options.ca_file);
    } catch (std::exception const& e) {
        return {outcome_kind::unreachable, {}, 0, e.what(), false};
    }
    std::string target(url);
    return run_private<allocation_outcome>(
        [&] { return detail::async_allocate_and_release(target, username, password, options, *tls); },
        [](std::string const& what) { return allocation_outcome{outcome_kind::unreachable, {}, 0, what, false}; });
}

binding_outcome stun_binding(std::string_view url, client_options const& options)
{
    std::unique_ptr<boost::asio::ssl::context> tls;
    try {
        tls = detail::make_turn_tls_context(options.ca_file);
    } catch (std::exception const& e) {
        return {false, {}, e.what()};
    }
    std::string target(url);
    return run_private<binding_outcome>([&] { return detail::async_stun_binding(target, options, *tls); },
                                        [](std::string const& what) { return binding_outcome{false, {}, what}; });
}

probe_report run_probe(provider& p, client_options const& options)
{
    auto credentials = p.credentials(probe_subject, probe_ttl);
    std::unique_ptr<boost::asio::ssl::context> tls;
    try {
        tls = detail::make_turn_tls_context(options.ca_file);
    } catch (std::exception const& e) {
        probe_report r;
        r.credentials_failure = e.what();
        return r;
    }
    return run_private<probe_report>([&] { return detail::async_probe(credentials, options, *tls); },
                                     [](std::string const& what) {
                                         probe_report r;
                                         r.credentials_failure = "the probe failed: " + what;
                                         return r;
                                     });
}

} // namespace relay::turn
