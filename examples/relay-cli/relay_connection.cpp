#include "relay_connection.hpp"

#include "args.hpp"

#include <relay/version.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>

namespace relay::cli {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

std::string user_agent()
{
    return "relay-cli/" + std::string(relay::version);
}

std::string host_header(robot::relay_url const& url)
{
    bool v6 = url.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + url.host + "]" : url.host;
    bool default_port = url.port == (url.tls ? 443 : 80);
    return default_port ? host : host + ":" + std::to_string(url.port);
}

std::string where(relay_endpoint const& relay)
{
    return relay.url.host + ":" + std::to_string(relay.url.port);
}

/** Runs `ioc` until the operation started before completes. */
void run(net::io_context& ioc)
{
    ioc.restart();
    ioc.run();
}

std::unique_ptr<ssl::context> make_tls_context(relay_endpoint const& relay)
{
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (!relay.ca_file.empty()) {
        ctx->load_verify_file(relay.ca_file, ec);
        if (ec)
            throw usage_error("cannot load --ca-file " + relay.ca_file + ": " + ec.message());
    }
    return ctx;
}

/** TCP connect (and TLS handshake) within the stream's deadline; throws network_error. */
template <class Stream> void open_stream(net::io_context& ioc, Stream& stream, relay_endpoint const& relay)
{
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(relay.url.host, std::to_string(relay.url.port), ec);
    if (ec)
        throw network_error("cannot resolve " + relay.url.host + ": " + ec.message());
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.async_connect(endpoints, [&](beast::error_code e, tcp::endpoint const&) { ec = e; });
    run(ioc);
    if (ec)
        throw network_error("cannot connect to " + where(relay) + ": " + ec.message());
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        // SNI for names only; an address is verified as such.
        boost::system::error_code not_an_address;
        net::ip::make_address(relay.url.host, not_an_address);
        if (not_an_address)
            SSL_set_tlsext_host_name(stream.native_handle(), relay.url.host.c_str());
        stream.set_verify_mode(ssl::verify_peer);
        stream.set_verify_callback(ssl::host_name_verification(relay.url.host));
        stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
        run(ioc);
        if (ec) {
            std::string why = ec.message();
            long verify = SSL_get_verify_result(stream.native_handle());
            if (verify != X509_V_OK)
                why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
            throw network_error("TLS handshake with " + relay.url.host + " failed: " + why);
        }
    }
}

template <class Stream>
http_answer do_http(net::io_context& ioc, Stream& stream, relay_endpoint const& relay, http::request<http::string_body>& req)
{
    open_stream(ioc, stream, relay);
    beast::error_code ec;
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc);
    if (ec)
        throw network_error("sending the request to " + where(relay) + " failed: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc);
    if (ec)
        throw network_error(ec == beast::error::timeout ? "no answer from " + where(relay) + " in time"
                                                        : "reading the answer from " + where(relay) + " failed: " + ec.message());
    http_answer out;
    auto& res = parser.get();
    out.status = res.result_int();
    for (auto const& f : res) {
        std::string name(f.name_string());
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    return out;
}

} // namespace

relay_endpoint make_endpoint(std::string const& text, std::string ca_file)
{
    auto parsed = robot::parse_relay_url(text, "");
    if (!parsed)
        throw usage_error("the relay URL must look like https://relay.example.com or http://127.0.0.1:8000, not '" +
                          text + "'");
    relay_endpoint e{text, *parsed, std::move(ca_file)};
    if (e.url.path == "/")
        e.url.path.clear();
    return e;
}

boost::json::value http_answer::json() const
{
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
}

std::string http_answer::error_code() const
{
    auto v = json();
    if (auto* o = v.if_object())
        if (auto* e = o->if_contains("error"); e && e->is_object())
            if (auto* c = e->as_object().if_contains("code"); c && c->is_string())
                return std::string(c->as_string());
    return {};
}

std::string http_answer::error_message() const
{
    auto v = json();
    if (auto* o = v.if_object())
        if (auto* e = o->if_contains("error"); e && e->is_object())
            if (auto* m = e->as_object().if_contains("message"); m && m->is_string())
                return std::string(m->as_string());
    return {};
}

std::string http_answer::describe_error() const
{
    auto code = error_code();
    if (code.empty())
        return "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body.substr(0, 200));
    auto message = error_message();
    return code + (message.empty() ? "" : ": " + message) + " (HTTP " + std::to_string(status) + ")";
}

http_answer http_request(relay_endpoint const& relay, std::string const& method, std::string const& target,
                         std::optional<std::string> const& body,
                         std::vector<std::pair<std::string, std::string>> const& headers, std::chrono::milliseconds timeout)
{
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(relay.url.path + target);
    req.version(11);
    req.set(http::field::host, host_header(relay.url));
    req.set(http::field::user_agent, user_agent());
    bool has_type = false;
    for (auto const& [k, v] : headers) {
        req.insert(k, v);
        has_type = has_type || beast::iequals(k, "content-type");
    }
    if (body) {
        if (!has_type)
            req.set(http::field::content_type, "application/json");
        req.body() = *body;
    }
    req.keep_alive(false);
    req.prepare_payload();

    net::io_context ioc;
    if (relay.url.tls) {
        auto ctx = make_tls_context(relay);
        tls_stream stream(ioc, *ctx);
        beast::get_lowest_layer(stream).expires_after(timeout);
        return do_http(ioc, stream, relay, req);
    }
    plain_stream stream(ioc);
    stream.expires_after(timeout);
    return do_http(ioc, stream, relay, req);
}

// --- the app socket ------------------------------------------------------------------------------

struct app_socket::impl {
    virtual ~impl() = default;
    virtual void send(std::string const& text) = 0;
    virtual std::optional<std::string> read(std::chrono::milliseconds timeout) = 0;
    virtual void close() = 0;
};

namespace {

template <class Stream> class socket_impl final : public app_socket::impl {
public:
    socket_impl(relay_endpoint const& relay, std::string const& token, std::chrono::milliseconds timeout)
        : tls_(relay.url.tls ? make_tls_context(relay) : nullptr), ws_(make_ws())
    {
        beast::get_lowest_layer(ws_).expires_after(timeout);
        open_stream(ioc_, ws_.next_layer(), relay);
        beast::get_lowest_layer(ws_).expires_never();
        // Beast pings a silent relay and gives up on one that stays silent (the relay itself
        // pings every 30 s, so 90 s of silence means it is gone).
        websocket::stream_base::timeout t{};
        t.handshake_timeout = timeout;
        t.idle_timeout = std::chrono::seconds(90);
        t.keep_alive_pings = true;
        ws_.set_option(t);
        ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
            req.set(http::field::user_agent, user_agent());
            req.set(http::field::authorization, "Bearer " + token);
        }));
        ws_.read_message_max(16 * 1024 * 1024);
        websocket::response_type res;
        beast::error_code ec;
        ws_.async_handshake(res, host_header(relay.url), relay.url.path + "/ws/app", [&](beast::error_code e) { ec = e; });
        run(ioc_);
        if (ec)
            throw network_error("WebSocket upgrade at " + where(relay) + " failed: " +
                                (res.result_int() ? "HTTP " + std::to_string(res.result_int()) : ec.message()));
    }

    void send(std::string const& text) override
    {
        beast::error_code ec;
        ws_.text(true);
        ws_.write(net::buffer(text), ec);
        if (ec)
            throw network_error("sending failed: " + ec.message());
    }

    std::optional<std::string> read(std::chrono::milliseconds timeout) override
    {
        if (!reading_) {
            reading_ = true;
            done_ = false;
            ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
                read_ec_ = ec;
                done_ = true;
            });
        }
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done_) {
            auto left = deadline - std::chrono::steady_clock::now();
            if (left <= std::chrono::steady_clock::duration::zero())
                return std::nullopt; // the read stays pending for the next call
            ioc_.restart();
            ioc_.run_one_for(left);
        }
        reading_ = false;
        if (read_ec_ == websocket::error::closed) {
            auto const& r = ws_.reason();
            throw socket_closed(static_cast<std::uint16_t>(r.code),
                                r.reason.empty() ? "closed by the relay" : std::string(r.reason.data(), r.reason.size()));
        }
        if (read_ec_)
            throw network_error("connection lost: " + read_ec_.message());
        auto text = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        return text;
    }

    void close() override
    {
        if (!ws_.is_open())
            return;
        bool closed = false;
        ws_.async_close(websocket::close_code::normal, [&](beast::error_code) { closed = true; });
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!closed && std::chrono::steady_clock::now() < deadline) {
            ioc_.restart();
            ioc_.run_one_for(deadline - std::chrono::steady_clock::now());
        }
    }

private:
    websocket::stream<Stream> make_ws()
    {
        if constexpr (std::is_same_v<Stream, tls_stream>)
            return websocket::stream<Stream>(ioc_, *tls_);
        else
            return websocket::stream<Stream>(ioc_);
    }

    net::io_context ioc_;
    std::unique_ptr<ssl::context> tls_;
    websocket::stream<Stream> ws_;
    beast::flat_buffer buffer_;
    bool reading_ = false;
    bool done_ = false;
    beast::error_code read_ec_;
};

} // namespace

app_socket::app_socket(relay_endpoint const& relay, std::string const& access_token, std::chrono::milliseconds timeout)
{
    if (relay.url.tls)
        impl_ = std::make_unique<socket_impl<tls_stream>>(relay, access_token, timeout);
    else
        impl_ = std::make_unique<socket_impl<plain_stream>>(relay, access_token, timeout);
    // The relay answers a bad token with an error and close 4401; a good one with auth_ok.
    for (;;) {
        auto m = read(timeout);
        if (!m)
            throw network_error("no auth_ok from the relay in time");
        auto type = m->is_object() && m->as_object().contains("type") ? m->at("type") : boost::json::value();
        if (type == "auth_ok") {
            auth_ok_ = std::move(*m);
            return;
        }
        if (type == "error") {
            auto code = m->as_object().contains("code") ? std::string(m->at("code").as_string()) : "";
            throw socket_closed(4401, code + ": " +
                                          (m->as_object().contains("message") ? std::string(m->at("message").as_string()) : ""));
        }
    }
}

app_socket::~app_socket() = default;

void app_socket::send(boost::json::value const& message)
{
    impl_->send(boost::json::serialize(message));
}

std::optional<boost::json::value> app_socket::read(std::chrono::milliseconds timeout)
{
    auto text = impl_->read(timeout);
    if (!text)
        return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(*text, ec);
    if (ec)
        return boost::json::value(boost::json::object{{"type", "unparsable"}, {"text", *text}});
    return v;
}

void app_socket::close()
{
    impl_->close();
}

} // namespace relay::cli
