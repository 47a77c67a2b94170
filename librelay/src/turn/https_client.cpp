// The blocking HTTPS client behind cloudflare_provider. Each request runs asynchronous Beast
// operations on a private io_context driven by the calling thread: that is what gives every
// step a timeout (tcp_stream deadlines), which blocking socket calls cannot have.
#include "https_client.hpp"
#include "tls_client.hpp"

#include <relay/protocol/validation.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <stdexcept>

namespace relay::turn::detail {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace beast = boost::beast;
namespace http = beast::http;

/** Largest answer accepted; Cloudflare's is well under 2 KiB. */
constexpr std::size_t max_reply_bytes = 64 * 1024;

/** Runs the private context until the one pending operation has completed. */
void run(net::io_context& io)
{
    io.restart();
    io.run();
}

std::string describe(boost::system::error_code ec, std::chrono::milliseconds timeout)
{
    if (ec == beast::error::timeout)
        return "no answer within " + std::to_string(timeout.count()) + " ms";
    return ec.message();
}

} // namespace

std::optional<https_endpoint> parse_https_url(std::string_view url, std::string& why)
{
    namespace urls = boost::urls;
    // Checked first: a URL in another scheme gets the reason that matters, not a syntax error.
    if (!url.starts_with("https://")) {
        why = "must be an https:// URL (the API token must not travel in clear text)";
        return std::nullopt;
    }
    auto parsed = urls::parse_uri(url);
    // Boost.URL 1.81 reads "host:80x" as port 80 and path "x": a path must start with '/'.
    if (!parsed || parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment() ||
        (!parsed->encoded_path().empty() && !parsed->encoded_path().starts_with('/'))) {
        why = "must be https://host[:port][/path] without user info, query or fragment";
        return std::nullopt;
    }
    https_endpoint out;
    out.host = parsed->host_address(); // IPv6 without its brackets
    if (out.host.empty()) {
        why = "has no host";
        return std::nullopt;
    }
    out.port = "443";
    if (parsed->has_port()) {
        auto port = protocol::parse_port(parsed->port());
        if (!port) {
            why = "has an invalid port";
            return std::nullopt;
        }
        out.port = std::to_string(*port);
    }
    std::string_view path = parsed->encoded_path();
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    out.path_prefix = std::string(path);
    return out;
}

https_client::https_client(https_endpoint endpoint, std::string const& ca_file)
    : endpoint_(std::move(endpoint)), tls_(net::ssl::context::tls_client)
{
    configure_tls_client(tls_, ca_file);
}

bool https_client::post_json(std::string const& target, std::string_view bearer, std::string const& body,
                             https_timeouts timeouts, https_reply& reply, https_failure& failure)
{
    net::io_context io(1);
    boost::system::error_code ec;

    // The system resolver has its own timeouts (resolv.conf); an IP literal never waits.
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) {
        failure = {"cannot resolve " + endpoint_.host + ": " + ec.message(), true};
        return false;
    }

    net::ssl::stream<beast::tcp_stream> stream(io, tls_);
    // SNI lets a shared front end pick the right certificate; the chain must lead to a trusted
    // CA and the certificate must name the host we asked for.
    if (!expect_server_name(stream, endpoint_.host)) {
        failure = {"cannot set the TLS server name", false};
        return false;
    }

    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(timeouts.connect);
    tcp_layer.async_connect(endpoints, [&ec](boost::system::error_code e, tcp::endpoint const&) { ec = e; });
    run(io);
    if (ec) {
        failure = {"cannot connect to " + endpoint_.host + ":" + endpoint_.port + ": " +
                       describe(ec, timeouts.connect),
                   true};
        return false;
    }

    stream.async_handshake(net::ssl::stream_base::client, [&ec](boost::system::error_code e) { ec = e; });
    run(io);
    if (ec) {
        if (auto untrusted = untrusted_certificate(stream.native_handle(), endpoint_.host); !untrusted.empty()) {
            failure = {untrusted, false};
            return false;
        }
        // Anything else during the handshake (reset, timeout) may be transient.
        failure = {"TLS handshake with " + endpoint_.host + " failed: " + describe(ec, timeouts.connect), true};
        return false;
    }

    http::request<http::string_body> req{http::verb::post, target, 11};
    bool default_port = endpoint_.port == "443";
    std::string host_header = endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]" : endpoint_.host;
    if (!default_port)
        host_header += ":" + endpoint_.port;
    req.set(http::field::host, host_header);
    req.set(http::field::authorization, "Bearer " + std::string(bearer));
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    req.set(http::field::user_agent, "relayd");
    req.set(http::field::connection, "close");
    req.body() = body;
    req.prepare_payload();

    tcp_layer.expires_after(timeouts.read);
    http::async_write(stream, req, [&ec](boost::system::error_code e, std::size_t) { ec = e; });
    run(io);
    if (ec) {
        failure = {"sending the request to " + endpoint_.host + " failed: " + describe(ec, timeouts.read), true};
        return false;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_reply_bytes);
    http::async_read(stream, buffer, parser, [&ec](boost::system::error_code e, std::size_t) { ec = e; });
    run(io);
    if (ec) {
        failure = {"reading the answer of " + endpoint_.host + " failed: " + describe(ec, timeouts.read), true};
        return false;
    }
    // No TLS close_notify: the answer is complete by its length, so a truncation attack has
    // nothing to gain, and waiting for the peer's close_notify would only add a round trip.
    reply.status = parser.get().result_int();
    reply.body = std::move(parser.get().body());
    return true;
}

} // namespace relay::turn::detail
