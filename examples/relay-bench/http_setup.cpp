#include "http_setup.hpp"

#include "bench_net.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fmt/format.h>

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

namespace relay::bench {
namespace http = beast::http;
namespace {

constexpr std::string_view password = "correct horse battery staple";

struct http_answer {
    unsigned status = 0;
    std::string body;

    boost::json::value json() const
    {
        boost::system::error_code ec;
        auto v = boost::json::parse(body, ec);
        return ec ? boost::json::value() : v;
    }
};

/** One keep-alive HTTP/1.1 connection, reopened when the relay closed it. */
class http_connection {
public:
    http_connection(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port), stream_(ioc_) {}

    http_answer call(http::verb method, std::string const& target, std::string body = {},
                     std::string const& bearer = {})
    {
        for (int attempt = 0;; ++attempt) {
            try {
                return try_call(method, target, body, bearer);
            } catch (std::exception const&) {
                // A keep-alive connection the relay already closed: one fresh try.
                open_ = false;
                beast::error_code ignored;
                stream_.socket().close(ignored);
                if (attempt == 1)
                    throw;
            }
        }
    }

private:
    http_answer try_call(http::verb method, std::string const& target, std::string const& body,
                         std::string const& bearer)
    {
        if (!open_) {
            stream_.connect(tcp::endpoint(net::ip::make_address(host_), port_));
            open_ = true;
        }
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, host_ + ":" + std::to_string(port_));
        req.keep_alive(true);
        if (!bearer.empty())
            req.set(http::field::authorization, "Bearer " + bearer);
        if (!body.empty()) {
            req.set(http::field::content_type, "application/json");
            req.body() = body;
        }
        req.prepare_payload();
        stream_.expires_after(std::chrono::seconds(60));
        http::write(stream_, req);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(stream_, buffer, res);
        if (!res.keep_alive()) {
            open_ = false;
            beast::error_code ignored;
            stream_.socket().close(ignored);
        }
        return {res.result_int(), std::move(res.body())};
    }

    std::string host_;
    std::uint16_t port_;
    net::io_context ioc_;
    beast::tcp_stream stream_;
    bool open_ = false;
};

/** Runs job(i, connection) for i in [0, count) on `workers` threads, each with its own
 * connection; rethrows the first failure. */
void run_parallel(http_setup const& s, std::size_t count, std::function<void(std::size_t, http_connection&)> const& job)
{
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    std::vector<std::thread> threads;
    for (unsigned w = 0; w < std::max(1u, s.workers); ++w)
        threads.emplace_back([&] {
            http_connection conn(s.host, s.port);
            for (;;) {
                auto i = next.fetch_add(1);
                if (i >= count)
                    return;
                try {
                    job(i, conn);
                } catch (...) {
                    std::lock_guard lock(failure_mutex);
                    if (!failure)
                        failure = std::current_exception();
                    next = count; // stop the others early
                    return;
                }
            }
        });
    for (auto& t : threads)
        t.join();
    if (failure)
        std::rethrow_exception(failure);
}

std::string str(boost::json::value const& v, char const* key)
{
    return std::string(v.at(key).as_string());
}

} // namespace

std::string random_tag()
{
    std::random_device rd;
    return fmt::format("{:08x}", rd());
}

std::vector<account> http_setup::create_accounts(std::size_t count) const
{
    std::vector<account> out(count);
    run_parallel(*this, count, [&](std::size_t i, http_connection& conn) {
        account a;
        a.email = fmt::format("bench-{}-{}@example.com", run_tag, i);
        auto creds = boost::json::serialize(boost::json::object{{"email", a.email}, {"password", password}});
        auto reg = conn.call(http::verb::post, "/api/auth/register", creds);
        if (reg.status != 201)
            throw std::runtime_error(fmt::format("register {}: {} {}", a.email, reg.status, reg.body));
        a.user_id = str(reg.json(), "user_id");
        auto login = conn.call(http::verb::post, "/api/auth/login", creds);
        if (login.status != 200)
            throw std::runtime_error(fmt::format("login {}: {} {}", a.email, login.status, login.body));
        auto tokens = login.json();
        a.access_token = str(tokens, "access_token");
        a.refresh_token = str(tokens, "refresh_token");
        out[i] = std::move(a);
    });
    return out;
}

std::vector<device> http_setup::create_devices(std::vector<account> const& accounts,
                                               std::vector<std::size_t> const& owners) const
{
    std::vector<device> out(owners.size());
    run_parallel(*this, owners.size(), [&](std::size_t i, http_connection& conn) {
        auto body = boost::json::serialize(boost::json::object{{"name", fmt::format("bench robot {}", i)}});
        auto res = conn.call(http::verb::post, "/api/devices", body, accounts.at(owners[i]).access_token);
        if (res.status != 201)
            throw std::runtime_error(fmt::format("create device: {} {}", res.status, res.body));
        auto j = res.json();
        out[i] = device{str(j, "device_id"), str(j, "device_secret")};
    });
    return out;
}

void http_setup::share(std::vector<account> const& accounts, std::vector<device> const& devices,
                       std::vector<share_request> const& requests) const
{
    run_parallel(*this, requests.size(), [&](std::size_t i, http_connection& conn) {
        auto const& r = requests[i];
        auto body = boost::json::serialize(
            boost::json::object{{"email", accounts.at(r.viewer).email}, {"role", "viewer"}});
        auto res = conn.call(http::verb::post, "/api/devices/" + devices.at(r.device).device_id + "/members", body,
                             accounts.at(r.owner).access_token);
        if (res.status / 100 != 2)
            throw std::runtime_error(fmt::format("share: {} {}", res.status, res.body));
    });
}

std::string http_setup::stats() const
{
    http_connection conn(host, port);
    auto res = conn.call(http::verb::get, "/stats");
    return res.body;
}

} // namespace relay::bench
