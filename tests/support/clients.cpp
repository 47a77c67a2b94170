#include "support/clients.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <stdexcept>

namespace relay::test {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Generous: a test relay may be slow on a loaded machine, and a hung request still ends.
constexpr auto request_limit = std::chrono::seconds(120);

support::endpoint loopback(std::uint16_t port)
{
    support::endpoint to;
    to.host = "127.0.0.1";
    to.port = port;
    return to;
}

support::endpoint loopback_tls(tls_to const& tls)
{
    auto to = loopback(tls.port);
    to.host = tls.server_name;
    to.connect_address = "127.0.0.1";
    to.tls = true;
    to.ca_file = tls.ca_file;
    to.system_cas = false;
    return to;
}

http_reply call(support::endpoint const& to, std::string const& method, std::string const& target,
                std::string const& body, header_list const& headers)
{
    support::http_options options;
    options.timeout = request_limit;
    options.host_header = to.host;
    return support::http_request(to, method, target, body.empty() ? std::nullopt : std::optional(body), headers,
                                 options);
}

header_list auth_headers(std::string const& bearer)
{
    if (bearer.empty()) return {};
    return {{"Authorization", "Bearer " + bearer}};
}

} // namespace

http_reply http_call(std::uint16_t port, std::string const& method, std::string const& target,
                     std::string const& body, header_list const& headers)
{
    return call(loopback(port), method, target, body, headers);
}

http_reply http_call_from(std::string const& source, std::uint16_t port, std::string const& method,
                          std::string const& target, std::string const& body, header_list const& headers)
{
    auto to = loopback(port);
    to.source_address = source;
    return call(to, method, target, body, headers);
}

http_reply https_call(std::uint16_t port, std::string const& ca_file, std::string const& method,
                      std::string const& target, std::string const& body, header_list const& headers)
{
    return call(loopback_tls({port, ca_file}), method, target, body, headers);
}

raw_reply raw_exchange(std::uint16_t port, std::string const& bytes, std::chrono::milliseconds limit)
{
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    net::write(stream.socket(), net::buffer(bytes));
    raw_reply out;
    auto const deadline = std::chrono::steady_clock::now() + limit;
    std::array<char, 4096> chunk;
    for (;;) {
        beast::error_code ec;
        std::size_t n = 0;
        stream.expires_at(deadline);
        stream.async_read_some(net::buffer(chunk), [&](beast::error_code e, std::size_t got) {
            ec = e;
            n = got;
        });
        ioc.restart();
        ioc.run();
        out.bytes.append(chunk.data(), n);
        if (ec) {
            // End of stream, or a reset after the answer (the relay dropped what it would not read).
            out.closed = ec != beast::error::timeout;
            return out;
        }
    }
}

http_reply http_get(std::uint16_t port, std::string const& target, std::string const& bearer)
{
    return http_call(port, "GET", target, {}, auth_headers(bearer));
}

http_reply http_delete(std::uint16_t port, std::string const& target, std::string const& bearer)
{
    return http_call(port, "DELETE", target, {}, auth_headers(bearer));
}

http_reply http_json(std::uint16_t port, std::string const& method, std::string const& target,
                     boost::json::value const& body, std::string const& bearer)
{
    return http_call(port, method, target, boost::json::serialize(body), auth_headers(bearer));
}

std::string peer_certificate_fingerprint(std::uint16_t port)
{
    net::io_context ioc;
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.set_verify_mode(net::ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
    beast::get_lowest_layer(s).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    s.handshake(net::ssl::stream_base::client);
    X509* cert = SSL_get1_peer_certificate(s.native_handle());
    std::string out;
    if (cert) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        X509_digest(cert, EVP_sha256(), md, &len);
        static constexpr char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < len; ++i) {
            out += hex[md[i] >> 4];
            out += hex[md[i] & 15];
        }
        X509_free(cert);
    }
    return out;
}

namespace {

std::unique_ptr<support::websocket_client> open_ws(support::endpoint const& to, std::string const& target,
                                                   header_list const& headers)
{
    support::websocket_options options;
    options.timeout = std::chrono::seconds(60);
    options.host_header = to.host;
    options.headers = headers;
    options.no_delay = true;
    return std::make_unique<support::websocket_client>(to, target, options);
}

} // namespace

ws_client::ws_client(std::uint16_t port, std::string const& target, header_list const& headers)
    : ws_(open_ws(loopback(port), target, headers))
{
}

ws_client::ws_client(tls_to const& to, std::string const& target, header_list const& headers)
    : ws_(open_ws(loopback_tls(to), target, headers))
{
}

ws_client::~ws_client() = default;

unsigned ws_client::upgrade_status(std::uint16_t port, std::string const& target, header_list const& headers)
{
    try {
        ws_client ws(port, target, headers);
        return 101;
    } catch (support::upgrade_refused const& e) {
        return e.status;
    }
}

void ws_client::send_text(std::string const& text)
{
    ws_->send_text(text);
}

void ws_client::send_fragment(std::string const& text, bool last)
{
    ws_->send_fragment(text, last);
}

void ws_client::send(boost::json::value const& message)
{
    send_text(boost::json::serialize(message));
}

std::optional<std::string> ws_client::read_text(std::chrono::milliseconds timeout)
{
    auto r = ws_->read(timeout);
    using result = support::websocket_read::result;
    if (r.what == result::message)
        return std::move(r.text);
    if (r.what != result::timed_out)
        code_ = r.close_code;
    return std::nullopt;
}

std::optional<boost::json::value> ws_client::read_json(std::chrono::milliseconds timeout)
{
    auto text = read_text(timeout);
    if (!text) return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(*text, ec);
    if (ec) throw std::runtime_error("relay sent non-JSON text: " + *text);
    return v;
}

boost::json::value ws_client::expect(std::string const& type, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return nullptr;
        auto v = read_json(left);
        if (!v) return nullptr;
        if (auto* o = v->if_object())
            if (auto* t = o->if_contains("type"); t && t->is_string() && t->as_string() == type)
                return *v;
        skipped_.push_back(std::move(*v));
    }
}

std::uint16_t ws_client::wait_closed(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (ws_->is_open()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return 0;
        if (auto v = read_json(left)) skipped_.push_back(std::move(*v));
    }
    return code_;
}

bool ws_client::is_open() const
{
    return ws_->is_open();
}

std::uint16_t ws_client::close_code() const
{
    return code_;
}

void ws_client::close(std::uint16_t code)
{
    ws_->close(code, std::chrono::seconds(5));
}

} // namespace relay::test
