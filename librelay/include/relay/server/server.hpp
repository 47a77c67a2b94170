#pragma once
/** @file The relay server: HTTP API and both WebSocket endpoints on one listener. */
#include <relay/server/options.hpp>
#include <relay/server/parts.hpp>

#include <boost/system/error_code.hpp>

#include <memory>

namespace relay::server {

/**
 * Owns the listener, the I/O threads and the services its sessions share. Create it from the
 * options and the parts (empty parts get the defaults listed in parts.hpp), `start()` it (which
 * binds and may fail with a reason), then `run()` it on the calling thread until `stop()`.
 */
class server {
public:
    server(server_options options, parts p = {});
    ~server();
    server(server const&) = delete;
    server& operator=(server const&) = delete;

    /** Fills in the default parts (opening the store unless one was given) and binds the
     * listener. On failure, `why` says what went wrong. */
    boost::system::error_code start(std::string& why);

    /** The bound port (useful when options.port was 0). */
    std::uint16_t port() const noexcept;

    /** Serves until stop() is called; returns once every thread has finished. */
    void run();

    /** Graceful stop: stops accepting, closes connections, lets work finish. Thread-safe. */
    void stop();

    /**
     * Re-reads the TLS certificate and key (SIGHUP): new connections use them, live ones are
     * untouched. Returns what is wrong (the old ones stay in use), or empty. Thread-safe.
     */
    std::string reload_tls();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace relay::server
