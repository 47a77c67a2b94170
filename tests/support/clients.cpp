#include "support/clients.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <stdexcept>

namespace relay::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

boost::json::value http_reply::json() const
{
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
}

std::string http_reply::error_code() const
{
    auto v = json();
    if (auto* o = v.if_object())
        if (auto* e = o->if_contains("error"); e && e->is_object())
            if (auto* c = e->as_object().if_contains("code"); c && c->is_string())
                return std::string(c->as_string());
    return {};
}

std::string http_reply::header(std::string const& lower_name) const
{
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

http_reply http_call(std::uint16_t port, std::string const& method, std::string const& target,
                     std::string const& body, header_list const& headers)
{
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    bool has_content_type = false;
    for (auto const& [k, v] : headers) {
        req.set(k, v);
        if (beast::iequals(k, "content-type")) has_content_type = true;
    }
    if (!body.empty() && !has_content_type)
        req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser);
    auto& res = parser.get();
    http_reply out;
    out.status = res.result_int();
    for (auto const& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return out;
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

namespace {
header_list auth_headers(std::string const& bearer)
{
    if (bearer.empty()) return {};
    return {{"Authorization", "Bearer " + bearer}};
}
} // namespace

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

namespace {

net::ssl::context client_context(std::string const& ca_file)
{
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(net::ssl::verify_peer);
    return ctx;
}

void tls_connect(beast::ssl_stream<beast::tcp_stream>& s, std::uint16_t port)
{
    beast::get_lowest_layer(s).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    s.set_verify_callback(net::ssl::host_name_verification("127.0.0.1"));
    s.handshake(net::ssl::stream_base::client);
}

http_reply read_reply(beast::ssl_stream<beast::tcp_stream>& s)
{
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(s, buffer, parser);
    http_reply out;
    out.status = parser.get().result_int();
    for (auto const& f : parser.get()) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = parser.get().body();
    return out;
}

} // namespace

http_reply https_call(std::uint16_t port, std::string const& ca_file, std::string const& method,
                      std::string const& target, std::string const& body, header_list const& headers)
{
    net::io_context ioc;
    auto ctx = client_context(ca_file);
    beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
    tls_connect(s, port);
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (auto const& [k, v] : headers) req.set(k, v);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    return read_reply(s);
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

struct wss_client::impl {
    net::io_context ioc;
    net::ssl::context ctx;
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws;
    explicit impl(std::string const& ca) : ctx(client_context(ca)), ws(ioc, ctx) {}
};

wss_client::wss_client(std::uint16_t port, std::string const& target, std::string const& ca_file,
                       header_list const& headers)
    : impl_(std::make_unique<impl>(ca_file))
{
    tls_connect(impl_->ws.next_layer(), port);
    impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
        for (auto const& [k, v] : headers) req.set(k, v);
    }));
    impl_->ws.handshake("127.0.0.1", target);
}

wss_client::~wss_client() = default;

void wss_client::send(boost::json::value const& message)
{
    impl_->ws.text(true);
    impl_->ws.write(net::buffer(boost::json::serialize(message)));
}

boost::json::value wss_client::expect(std::string const& type, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    beast::get_lowest_layer(impl_->ws).expires_at(deadline);
    for (;;) {
        beast::flat_buffer buffer;
        bool done = false;
        beast::error_code ec;
        impl_->ws.async_read(buffer, [&](beast::error_code e, std::size_t) { ec = e; done = true; });
        impl_->ioc.restart();
        while (!done && impl_->ioc.run_one_until(deadline + std::chrono::milliseconds(100))) {
        }
        if (!done || ec) return nullptr;
        boost::system::error_code pec;
        auto v = boost::json::parse(beast::buffers_to_string(buffer.data()), pec);
        if (!pec && v.is_object() && v.as_object().if_contains("type") && v.at("type").is_string() && v.at("type").as_string() == type)
            return v;
    }
}

struct ws_client::impl {
    net::io_context ioc;
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer buffer;
    bool reading = false;     // an async_read is outstanding
    bool done = false;        // it completed
    beast::error_code read_ec;
    bool closed = false;
    std::uint16_t code = 0;

    void start_read()
    {
        if (reading) return;
        reading = true;
        done = false;
        ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
            read_ec = ec;
            done = true;
        });
    }

    // Runs the io_context until the outstanding read completes or the timeout passes.
    bool wait_read(std::chrono::milliseconds timeout)
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done) {
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::steady_clock::duration::zero())
                return false;
            ioc.restart();
            ioc.run_one_for(left);
        }
        reading = false;
        if (read_ec) {
            closed = true;
            code = ws.reason().code;
        }
        return true;
    }
};

ws_client::ws_client(std::uint16_t port, std::string const& target, header_list const& headers)
    : impl_(std::make_unique<impl>())
{
    auto& s = *impl_;
    beast::get_lowest_layer(s.ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::get_lowest_layer(s.ws).socket().set_option(tcp::no_delay(true));
    s.ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
        for (auto const& [k, v] : headers) req.set(k, v);
    }));
    s.ws.read_message_max(64 * 1024 * 1024);
    websocket::response_type res;
    beast::error_code ec;
    s.ws.handshake(res, "127.0.0.1", target, ec);
    if (ec)
        throw std::runtime_error("websocket upgrade refused: " + std::to_string(res.result_int()) + " " + res.body());
}

ws_client::~ws_client() = default;

unsigned ws_client::upgrade_status(std::uint16_t port, std::string const& target, header_list const& headers)
{
    net::io_context ioc;
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
        for (auto const& [k, v] : headers) req.set(k, v);
    }));
    websocket::response_type res;
    beast::error_code ec;
    ws.handshake(res, "127.0.0.1", target, ec);
    return res.result_int();
}

void ws_client::send_text(std::string const& text)
{
    impl_->ws.text(true);
    impl_->ws.write(net::buffer(text));
}

void ws_client::send_fragment(std::string const& text, bool last)
{
    impl_->ws.text(true);
    impl_->ws.write_some(last, net::buffer(text));
}

void ws_client::send(boost::json::value const& message)
{
    send_text(boost::json::serialize(message));
}

std::optional<std::string> ws_client::read_text(std::chrono::milliseconds timeout)
{
    auto& s = *impl_;
    if (s.closed) return std::nullopt;
    s.start_read();
    if (!s.wait_read(timeout) || s.read_ec)
        return std::nullopt;
    auto text = beast::buffers_to_string(s.buffer.data());
    s.buffer.consume(s.buffer.size());
    return text;
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
    while (!impl_->closed) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return 0;
        if (auto v = read_json(left)) skipped_.push_back(std::move(*v));
    }
    return impl_->code;
}

bool ws_client::is_open() const
{
    return !impl_->closed && impl_->ws.is_open();
}

std::uint16_t ws_client::close_code() const
{
    return impl_->code;
}

void ws_client::close(std::uint16_t code)
{
    beast::error_code ec;
    if (impl_->ws.is_open())
        impl_->ws.close(websocket::close_reason(code), ec);
    impl_->closed = true;
}

} // namespace relay::test
