#pragma once
// A TCP proxy between a robot client and relayd that a test can make lose the relay's answers
// (mute_replies) and then drop every connection (cut): what a dying node or a broken network
// path does to a robot whose events arrived but whose acks did not. The Redis broker's tests put
// it between a node and Redis, and refuse_new keeps that path broken while others go on.
#include <boost/asio.hpp>

#include <array>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace relay::test {

class muting_proxy {
public:
    /** Listens on a free loopback port and forwards each connection to 127.0.0.1:`target_port`. */
    explicit muting_proxy(std::uint16_t target_port)
        : target_(boost::asio::ip::make_address("127.0.0.1"), target_port),
          acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0})
    {
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }

    ~muting_proxy()
    {
        io_.stop();
        thread_.join();
    }

    muting_proxy(muting_proxy const&) = delete;
    muting_proxy& operator=(muting_proxy const&) = delete;

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    /** From now on, what the relay sends on the current connections is read and thrown away. */
    void mute_replies()
    {
        run([this] {
            for (auto& l : links_)
                l->muted = true;
        });
    }

    /** Closes every current connection, both sides; new ones are forwarded as before. */
    void cut()
    {
        run([this] {
            for (auto& l : links_) {
                boost::system::error_code ec;
                l->client.close(ec);
                l->server.close(ec);
            }
            links_.clear();
        });
    }

    /** While true, new connections are closed at once (a path that stays broken); false: forwarded. */
    void refuse_new(bool refuse)
    {
        run([this, refuse] { refusing_ = refuse; });
    }

private:
    using tcp = boost::asio::ip::tcp;

    struct link {
        explicit link(boost::asio::io_context& io) : client(io), server(io) {}
        tcp::socket client;
        tcp::socket server;
        bool muted = false;
        std::array<char, 16384> up{};
        std::array<char, 16384> down{};
    };

    /** Runs `f` on the proxy's thread and waits for it. */
    template <class F> void run(F f)
    {
        std::promise<void> done;
        boost::asio::post(io_, [&] {
            f();
            done.set_value();
        });
        done.get_future().wait();
    }

    void accept()
    {
        auto l = std::make_shared<link>(io_);
        acceptor_.async_accept(l->client, [this, l](boost::system::error_code ec) {
            if (ec)
                return;
            if (refusing_) {
                l->client.close(ec);
                accept();
                return;
            }
            l->server.connect(target_, ec);
            if (!ec) {
                links_.push_back(l);
                forward(l, l->client, l->server, l->up, false);
                forward(l, l->server, l->client, l->down, true);
            }
            accept();
        });
    }

    /** Copies `from` to `to` until either side ends; `replies` is the relay-to-robot direction. */
    void forward(std::shared_ptr<link> l, tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buf, bool replies)
    {
        from.async_read_some(boost::asio::buffer(buf), [this, l, &from, &to, &buf, replies](boost::system::error_code ec,
                                                                                          std::size_t n) {
            if (ec) {
                boost::system::error_code ignored;
                to.shutdown(tcp::socket::shutdown_send, ignored);
                return;
            }
            if (replies && l->muted) {
                forward(l, from, to, buf, replies);
                return;
            }
            boost::asio::async_write(to, boost::asio::buffer(buf.data(), n),
                                     [this, l, &from, &to, &buf, replies](boost::system::error_code ec2, std::size_t) {
                                         if (!ec2)
                                             forward(l, from, to, buf, replies);
                                     });
        });
    }

    boost::asio::io_context io_;
    tcp::endpoint target_;
    tcp::acceptor acceptor_;
    std::vector<std::shared_ptr<link>> links_; // the proxy's thread only
    bool refusing_ = false;                    // the proxy's thread only
    std::thread thread_;
};

} // namespace relay::test
