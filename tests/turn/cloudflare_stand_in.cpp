#include "cloudflare_stand_in.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <thread>

namespace turn_test {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

constexpr auto as_tuple = net::as_tuple(net::use_awaitable);

} // namespace

std::string cloudflare_body(std::string const& username, std::string const& credential)
{
    return R"({"iceServers":[{"urls":["stun:stun.cloudflare.com:3478","stun:stun.cloudflare.com:53"]},)"
           R"({"urls":["turn:turn.cloudflare.com:3478?transport=udp","turn:turn.cloudflare.com:53?transport=udp",)"
           R"("turn:turn.cloudflare.com:3478?transport=tcp","turn:turn.cloudflare.com:80?transport=tcp",)"
           R"("turns:turn.cloudflare.com:5349?transport=tcp","turns:turn.cloudflare.com:443?transport=tcp"],)"
           R"("username":")" +
           username + R"(","credential":")" + credential + R"("}]})";
}

struct cloudflare_stand_in::impl {
    net::io_context io{1};
    ssl::context tls{ssl::context::tls_server};
    tcp::acceptor acceptor{io};
    net::steady_timer release{io}; // hanging connections wait on it until the stand-in stops
    std::thread thread;
    std::uint16_t port = 0;

    mutable std::mutex mutex; // guards the three below
    std::deque<canned_reply> script;
    canned_reply fallback{201, cloudflare_body("user-1", "cred-1")};
    std::vector<recorded_request> requests;

    canned_reply next(recorded_request r)
    {
        std::lock_guard lock(mutex);
        requests.push_back(std::move(r));
        if (script.empty())
            return fallback;
        auto reply = script.front();
        script.pop_front();
        return reply;
    }

    net::awaitable<void> accept_loop()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(as_tuple);
            if (ec)
                co_return;
            net::co_spawn(io, serve(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> serve(tcp::socket socket)
    {
        ssl::stream<beast::tcp_stream> stream(std::move(socket), tls);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, as_tuple);
        if (hec)
            co_return; // e.g. a client that did not trust our certificate
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        auto [rec, rn] = co_await http::async_read(stream, buffer, req, as_tuple);
        if (rec)
            co_return;
        recorded_request r{std::string(req.method_string()),
                           std::string(req.target()),
                           std::string(req[http::field::authorization]),
                           std::string(req[http::field::content_type]),
                           std::string(req[http::field::host]),
                           req.body()};
        auto reply = next(std::move(r));
        if (reply.hang) {
            beast::get_lowest_layer(stream).expires_never();
            auto [tec] = co_await release.async_wait(as_tuple);
            (void)tec;
            co_return;
        }
        if (reply.delay.count() > 0) {
            net::steady_timer pause(io, reply.delay);
            auto [pec] = co_await pause.async_wait(as_tuple);
            (void)pec;
        }
        http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
        res.set(http::field::content_type, "application/json");
        res.keep_alive(false);
        res.body() = reply.body;
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, as_tuple);
        (void)wec;
        (void)wn;
        (void)rn;
    }
};

cloudflare_stand_in::cloudflare_stand_in(std::string const& cert_file, std::string const& key_file)
    : impl_(std::make_unique<impl>())
{
    auto& d = *impl_;
    d.tls.use_certificate_chain_file(cert_file);
    d.tls.use_private_key_file(key_file, ssl::context::pem);
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    d.acceptor.open(ep.protocol());
    d.acceptor.set_option(net::socket_base::reuse_address(true));
    d.acceptor.bind(ep);
    d.acceptor.listen();
    d.port = d.acceptor.local_endpoint().port();
    d.release.expires_at(net::steady_timer::time_point::max());
    net::co_spawn(d.io, d.accept_loop(), net::detached);
    d.thread = std::thread([&d] { d.io.run(); });
}

cloudflare_stand_in::~cloudflare_stand_in()
{
    auto& d = *impl_;
    net::post(d.io, [&d] {
        boost::system::error_code ec;
        d.acceptor.close(ec);
        d.release.cancel();
    });
    d.thread.join();
}

std::uint16_t cloudflare_stand_in::port() const noexcept
{
    return impl_->port;
}

std::string cloudflare_stand_in::base_url() const
{
    return "https://127.0.0.1:" + std::to_string(port()) + "/v1";
}

void cloudflare_stand_in::script(std::vector<canned_reply> replies)
{
    std::lock_guard lock(impl_->mutex);
    impl_->script.assign(replies.begin(), replies.end());
}

void cloudflare_stand_in::set_default(canned_reply reply)
{
    std::lock_guard lock(impl_->mutex);
    impl_->fallback = std::move(reply);
}

std::vector<recorded_request> cloudflare_stand_in::requests() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::size_t cloudflare_stand_in::request_count() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->requests.size();
}

std::uint16_t closed_port()
{
    net::io_context io;
    tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

} // namespace turn_test
