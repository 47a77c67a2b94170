#pragma once
// A WebSocket client over TLS, as an app or a robot reaches the relay through nginx: connects to
// 127.0.0.1:port, sends SNI and Host for `host`, and verifies the certificate against `ca_file`
// and `host`.
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ops_test {

class wss_client {
public:
    /** Connects and upgrades; throws std::runtime_error (with the HTTP status of a refusal). */
    wss_client(std::uint16_t port, std::string const& host, std::string const& target, std::string const& ca_file);
    ~wss_client();

    void send(boost::json::value const& message);

    /** The next message as JSON; nullopt on time-out or once closed (see close_code()). */
    std::optional<boost::json::value> read(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /** Reads until a message of this "type" arrives; null on time-out or close. */
    boost::json::value expect(std::string const& type, std::chrono::milliseconds timeout = std::chrono::seconds(10));

    /** Reads until the peer closes; its close code, 0 on time-out. */
    std::uint16_t wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(30));

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ops_test
