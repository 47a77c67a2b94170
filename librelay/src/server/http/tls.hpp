#pragma once
// TLS for relayd (RELAY_TLS_CERT / RELAY_TLS_KEY): a context that SIGHUP can reload without
// touching live connections.
#include "server/net.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
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

} // namespace relay::server
