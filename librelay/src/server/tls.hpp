#pragma once
// TLS for relayd (RELAY_TLS_CERT / RELAY_TLS_KEY): a context that SIGHUP can reload without
// touching live connections, and a stream that is plain TCP or TLS over TCP, so sessions have one
// type either way.
#include "net.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace relay::server {

/**
 * The server's TLS context. reload() builds a new one from the files and swaps it in; a new
 * connection takes the current one, live connections keep theirs (the SSL object holds its own
 * reference), so a certificate renewal drops nobody. Thread-safe.
 */
class tls_config {
public:
    /** Loads cert and key; on failure `why` says what is wrong and the result is empty. */
    static std::shared_ptr<tls_config> load(std::string cert_file, std::string key_file, std::string& why);

    std::shared_ptr<net::ssl::context> current() const;
    /** Re-reads the files; keeps the old context and returns the reason when they are unusable. */
    std::string reload();

private:
    static std::shared_ptr<net::ssl::context> build(std::string const& cert, std::string const& key, std::string& why);

    std::string cert_file_;
    std::string key_file_;
    mutable std::mutex mutex_; // guards context_
    std::shared_ptr<net::ssl::context> context_;
};

/** A TCP stream, or a TLS stream over one: what HTTP and WebSocket sessions read and write. */
class maybe_tls_stream {
public:
    using executor_type = beast::tcp_stream::executor_type;
    using tls_stream = beast::ssl_stream<beast::tcp_stream>;

    explicit maybe_tls_stream(beast::tcp_stream plain) : plain_(std::move(plain)) {}
    maybe_tls_stream(beast::tcp_stream plain, std::shared_ptr<net::ssl::context> context)
        : context_(std::move(context)), tls_(std::make_unique<tls_stream>(std::move(plain), *context_))
    {
    }

    executor_type get_executor() noexcept { return tcp().get_executor(); }
    beast::tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    bool is_tls() const noexcept { return tls_ != nullptr; }
    tls_stream& tls() noexcept { return *tls_; }

    template <class MutableBufferSequence, class Token>
    auto async_read_some(MutableBufferSequence const& buffers, Token&& token)
    {
        if (tls_)
            return tls_->async_read_some(buffers, std::forward<Token>(token));
        return plain_->async_read_some(buffers, std::forward<Token>(token));
    }

    template <class ConstBufferSequence, class Token>
    auto async_write_some(ConstBufferSequence const& buffers, Token&& token)
    {
        if (tls_)
            return tls_->async_write_some(buffers, std::forward<Token>(token));
        return plain_->async_write_some(buffers, std::forward<Token>(token));
    }

    // What Beast's WebSocket stream needs of its next layer to close it.
    friend void teardown(beast::role_type role, maybe_tls_stream& s, beast::error_code& ec)
    {
        using boost::beast::websocket::teardown;
        if (s.tls_)
            teardown(role, *s.tls_, ec);
        else
            teardown(role, *s.plain_, ec);
    }

    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role, maybe_tls_stream& s, TeardownHandler&& handler)
    {
        using boost::beast::websocket::async_teardown;
        if (s.tls_)
            async_teardown(role, *s.tls_, std::forward<TeardownHandler>(handler));
        else
            async_teardown(role, *s.plain_, std::forward<TeardownHandler>(handler));
    }

    friend void beast_close_socket(maybe_tls_stream& s)
    {
        beast::error_code ec;
        s.tcp().socket().close(ec);
    }

private:
    std::optional<beast::tcp_stream> plain_;
    std::shared_ptr<net::ssl::context> context_; // kept alive as long as the TLS stream
    std::unique_ptr<tls_stream> tls_;
};

} // namespace relay::server
