#include "relay_support/client.hpp"
#include "relay_support/websocket_reader.hpp"

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

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cctype>
#include <type_traits>

namespace relay::support {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

std::string default_host_header(endpoint const& to)
{
    bool v6 = to.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + to.host + "]" : to.host;
    bool default_port = to.port == (to.tls ? 443 : 80);
    return default_port ? host : host + ":" + std::to_string(to.port);
}

std::string host_header(endpoint const& to, std::string const& given)
{
    return given.empty() ? default_host_header(to) : given;
}

std::string where(endpoint const& to)
{
    return to.host + ":" + std::to_string(to.port);
}

/** Runs `ioc` until the operation started before completes. */
void run(net::io_context& ioc)
{
    ioc.restart();
    ioc.run();
}

std::unique_ptr<net::ssl::context> make_tls_context(endpoint const& to)
{
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    ctx->set_verify_mode(net::ssl::verify_peer);
    boost::system::error_code ec;
    if (to.system_cas)
        ctx->set_default_verify_paths(ec);
    if (!to.ca_file.empty()) {
        ctx->load_verify_file(to.ca_file, ec);
        if (ec)
            throw ca_file_error(to.ca_file, ec.message());
    }
    return ctx;
}

/** TCP connect (and TLS handshake) within the stream's deadline; throws network_error. */
template <class Stream> void open_stream(net::io_context& ioc, Stream& stream, endpoint const& to)
{
    beast::error_code ec;
    std::vector<tcp::endpoint> endpoints;
    if (!to.connect_address.empty()) {
        endpoints.emplace_back(net::ip::make_address(to.connect_address, ec), to.port);
        if (ec)
            throw network_error("cannot connect to " + to.connect_address + ": " + ec.message());
    } else {
        tcp::resolver resolver(ioc);
        auto results = resolver.resolve(to.host, std::to_string(to.port), ec);
        if (ec)
            throw network_error("cannot resolve " + to.host + ": " + ec.message());
        for (auto const& r : results)
            endpoints.push_back(r.endpoint());
    }
    auto& tcp_layer = beast::get_lowest_layer(stream);
    if (!to.source_address.empty()) {
        // Bound first, so the relay sees this source; then only the first address is tried (a
        // range connect would reopen the socket and lose the binding).
        auto source = net::ip::make_address(to.source_address, ec);
        if (!ec)
            tcp_layer.socket().open(endpoints.front().protocol(), ec);
        if (!ec)
            tcp_layer.socket().bind(tcp::endpoint(source, 0), ec);
        if (ec)
            throw network_error("cannot bind to " + to.source_address + ": " + ec.message());
        tcp_layer.async_connect(endpoints.front(), [&](beast::error_code e) { ec = e; });
    } else {
        tcp_layer.async_connect(endpoints, [&](beast::error_code e, tcp::endpoint const&) { ec = e; });
    }
    run(ioc);
    if (ec)
        throw network_error("cannot connect to " + where(to) + ": " + ec.message());
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        // SNI for names only; an address is verified as such.
        boost::system::error_code not_an_address;
        net::ip::make_address(to.host, not_an_address);
        if (not_an_address)
            SSL_set_tlsext_host_name(stream.native_handle(), to.host.c_str());
        stream.set_verify_mode(net::ssl::verify_peer);
        stream.set_verify_callback(net::ssl::host_name_verification(to.host));
        stream.async_handshake(net::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
        run(ioc);
        if (ec) {
            std::string why = ec.message();
            long verify = SSL_get_verify_result(stream.native_handle());
            if (verify != X509_V_OK)
                why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
            throw network_error("TLS handshake with " + to.host + " failed: " + why);
        }
    }
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

template <class Stream>
http_answer exchange(net::io_context& ioc, Stream& stream, endpoint const& to, http::request<http::string_body>& req,
                     std::uint64_t body_limit)
{
    open_stream(ioc, stream, to);
    beast::error_code ec;
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc);
    if (ec)
        throw network_error("sending the request to " + where(to) + " failed: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc);
    if (ec)
        throw network_error(ec == beast::error::timeout ? "no answer from " + where(to) + " in time"
                                                        : "reading the answer from " + where(to) + " failed: " + ec.message());
    http_answer out;
    auto& res = parser.get();
    out.status = res.result_int();
    for (auto const& f : res)
        out.headers[lower(f.name_string())] = std::string(f.value());
    out.body = std::move(res.body());
    return out;
}

/** error.<field> of an error body, or "". */
std::string error_field(boost::json::value const& v, char const* field)
{
    if (auto* o = v.if_object())
        if (auto* e = o->if_contains("error"); e && e->is_object())
            if (auto* f = e->as_object().if_contains(field); f && f->is_string())
                return std::string(f->as_string());
    return {};
}

} // namespace

bool run_until(net::io_context& ioc, bool const& done, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done) {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            return false;
        ioc.restart();
        ioc.run_one_for(left);
    }
    return true;
}

// --- HTTP ----------------------------------------------------------------------------------------

boost::json::value http_answer::json() const
{
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
}

std::string http_answer::error_code() const
{
    return error_field(json(), "code");
}

std::string http_answer::error_message() const
{
    return error_field(json(), "message");
}

std::string http_answer::header(std::string const& lower_name) const
{
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
}

http_answer http_request(endpoint const& to, std::string_view method, std::string const& target,
                         std::optional<std::string> const& body, header_list const& headers,
                         http_options const& options)
{
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(to.base_path + target);
    req.version(11);
    req.set(http::field::host, host_header(to, options.host_header));
    if (!options.user_agent.empty())
        req.set(http::field::user_agent, options.user_agent);
    bool has_type = false;
    for (auto const& [k, v] : headers) {
        req.set(k, v);
        has_type = has_type || beast::iequals(k, "content-type");
    }
    if (body) {
        if (!has_type)
            req.set(http::field::content_type, "application/json");
        req.body() = *body;
    }
    if (options.close)
        req.keep_alive(false);
    req.prepare_payload();

    net::io_context ioc;
    if (to.tls) {
        auto ctx = make_tls_context(to);
        tls_stream stream(ioc, *ctx);
        beast::get_lowest_layer(stream).expires_after(options.timeout);
        return exchange(ioc, stream, to, req, options.body_limit);
    }
    plain_stream stream(ioc);
    stream.expires_after(options.timeout);
    return exchange(ioc, stream, to, req, options.body_limit);
}

// --- WebSocket -----------------------------------------------------------------------------------

struct websocket_client::impl {
    virtual ~impl() = default;
    virtual void send(std::string_view text, bool last) = 0;
    virtual websocket_read read(std::chrono::milliseconds timeout) = 0;
    virtual void close(std::uint16_t code, std::chrono::milliseconds limit) = 0;
    virtual bool is_open() const = 0;
};

namespace {

template <class Stream> class socket_impl final : public websocket_client::impl {
public:
    socket_impl(endpoint const& to, std::string const& target, websocket_options const& options)
        : tls_(to.tls ? make_tls_context(to) : nullptr), ws_(make_ws())
    {
        beast::get_lowest_layer(ws_).expires_after(options.timeout);
        open_stream(ioc_, ws_.next_layer(), to);
        if (options.no_delay)
            beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
        // From here the WebSocket's own timer: the upgrade, and (when asked) pings to a silent
        // peer and giving up on one that stays silent.
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout t{};
        t.handshake_timeout = options.timeout;
        t.idle_timeout = options.idle_timeout.count() > 0 ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.idle_timeout)
                                                          : websocket::stream_base::none();
        t.keep_alive_pings = options.idle_timeout.count() > 0;
        ws_.set_option(t);
        ws_.set_option(websocket::stream_base::decorator(
            [headers = options.headers, agent = options.user_agent](websocket::request_type& req) {
                if (!agent.empty())
                    req.set(http::field::user_agent, agent);
                for (auto const& [k, v] : headers)
                    req.set(k, v);
            }));
        ws_.read_message_max(options.read_message_max);
        websocket::response_type res;
        beast::error_code ec;
        ws_.async_handshake(res, host_header(to, options.host_header), to.base_path + target,
                            [&](beast::error_code e) { ec = e; });
        run(ioc_);
        if (ec)
            throw upgrade_refused("WebSocket upgrade at " + where(to) + " failed: " +
                                      (res.result_int() ? "HTTP " + std::to_string(res.result_int()) : ec.message()),
                                  res.result_int(), res.body());
    }

    void send(std::string_view text, bool last) override
    {
        beast::error_code ec;
        ws_.text(true);
        ws_.write_some(last, net::buffer(text.data(), text.size()), ec);
        if (ec)
            throw network_error("sending failed: " + ec.message());
    }

    websocket_read read(std::chrono::milliseconds timeout) override { return reader_.read(timeout); }

    void close(std::uint16_t code, std::chrono::milliseconds limit) override { reader_.close(code, limit); }

    bool is_open() const override { return !reader_.ended() && ws_.is_open(); }

private:
    websocket::stream<Stream> make_ws()
    {
        if constexpr (std::is_same_v<Stream, tls_stream>)
            return websocket::stream<Stream>(ioc_, *tls_);
        else
            return websocket::stream<Stream>(ioc_);
    }

    net::io_context ioc_;
    std::unique_ptr<net::ssl::context> tls_;
    websocket::stream<Stream> ws_;
    websocket_reader<websocket::stream<Stream>> reader_{ioc_, ws_};
};

} // namespace

websocket_client::websocket_client(endpoint const& to, std::string const& target, websocket_options const& options)
{
    if (to.tls)
        impl_ = std::make_unique<socket_impl<tls_stream>>(to, target, options);
    else
        impl_ = std::make_unique<socket_impl<plain_stream>>(to, target, options);
}

websocket_client::~websocket_client() = default;

void websocket_client::send_text(std::string_view text)
{
    impl_->send(text, true);
}

void websocket_client::send_fragment(std::string_view text, bool last)
{
    impl_->send(text, last);
}

websocket_read websocket_client::read(std::chrono::milliseconds timeout)
{
    return impl_->read(timeout);
}

void websocket_client::close(std::uint16_t code, std::chrono::milliseconds limit)
{
    impl_->close(code, limit);
}

bool websocket_client::is_open() const
{
    return impl_->is_open();
}

} // namespace relay::support
