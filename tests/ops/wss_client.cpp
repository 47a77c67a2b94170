#include "wss_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace ops_test {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

struct wss_client::impl {
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{ioc, ctx};
    beast::flat_buffer buffer;
    bool reading = false; // an async_read is outstanding and survives a read() time-out
    bool read_done = false;
    beast::error_code read_ec;
    bool closed = false;

    /** Runs one asynchronous step to completion; the connection is cancelled on time-out. */
    template <class Start>
    beast::error_code run(Start start, std::chrono::milliseconds timeout)
    {
        bool done = false;
        beast::error_code result;
        start([&](beast::error_code ec, auto&&...) {
            result = ec;
            done = true;
        });
        ioc.restart();
        ioc.run_for(timeout);
        if (!done) {
            beast::get_lowest_layer(ws).cancel();
            ioc.restart();
            ioc.run_for(std::chrono::seconds(5));
            return net::error::timed_out;
        }
        return result;
    }
};

wss_client::wss_client(std::uint16_t port, std::string const& host, std::string const& target,
                       std::string const& ca_file)
    : impl_(std::make_unique<impl>())
{
    auto& s = *impl_;
    s.ctx.load_verify_file(ca_file);
    s.ctx.set_verify_mode(ssl::verify_peer);
    auto& tls = s.ws.next_layer();
    tls.set_verify_callback(ssl::host_name_verification(host));
    if (!SSL_set_tlsext_host_name(tls.native_handle(), host.c_str()))
        throw std::runtime_error("cannot set SNI");

    auto const timeout = std::chrono::seconds(15);
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    if (auto ec = s.run([&](auto h) { beast::get_lowest_layer(s.ws).async_connect(endpoint, h); }, timeout))
        throw std::runtime_error("connect: " + ec.message());
    if (auto ec = s.run([&](auto h) { tls.async_handshake(ssl::stream_base::client, h); }, timeout))
        throw std::runtime_error("TLS handshake: " + ec.message());
    s.ws.read_message_max(16 * 1024 * 1024);
    websocket::response_type res;
    if (auto ec = s.run([&](auto h) { s.ws.async_handshake(res, host, target, h); }, timeout))
        throw std::runtime_error("websocket upgrade refused: " + std::to_string(res.result_int()) + " " + ec.message());
}

wss_client::~wss_client() = default;

void wss_client::send(boost::json::value const& message)
{
    auto text = boost::json::serialize(message);
    auto& s = *impl_;
    s.ws.text(true);
    if (auto ec = s.run([&](auto h) { s.ws.async_write(net::buffer(text), h); }, std::chrono::seconds(10)))
        throw std::runtime_error("websocket write: " + ec.message());
}

std::optional<boost::json::value> wss_client::read(std::chrono::milliseconds timeout)
{
    auto& s = *impl_;
    if (s.closed)
        return std::nullopt;
    if (!s.reading) {
        s.reading = true;
        s.read_done = false;
        s.ws.async_read(s.buffer, [&s](beast::error_code ec, std::size_t) {
            s.read_ec = ec;
            s.read_done = true;
        });
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!s.read_done) {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero())
            return std::nullopt;
        s.ioc.restart();
        s.ioc.run_one_for(left);
    }
    s.reading = false;
    if (s.read_ec) {
        s.closed = true;
        return std::nullopt;
    }
    auto text = beast::buffers_to_string(s.buffer.data());
    s.buffer.consume(s.buffer.size());
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec)
        throw std::runtime_error("not JSON from the relay: " + text);
    return v;
}

boost::json::value wss_client::expect(std::string const& type, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return {};
        auto m = read(left);
        if (!m)
            return {};
        if (auto* o = m->if_object())
            if (auto* t = o->if_contains("type"); t && t->is_string() && t->as_string() == type)
                return *m;
    }
}

std::uint16_t wss_client::wait_closed(std::chrono::milliseconds timeout)
{
    auto& s = *impl_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!s.closed) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return 0;
        read(left);
    }
    return s.ws.reason().code;
}

} // namespace ops_test
