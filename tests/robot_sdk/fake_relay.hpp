#pragma once
// A scripted stand-in for relayd's /ws/device, for what the real relay does not serve yet
// (WebRTC signaling, the REST tunnel) and for exact control of what a robot receives: the
// test plays the relay one message at a time. Also a tiny HTTP server for the robot agent's
// local-API forwarder, and a self-signed certificate for TLS tests.
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace relay::test {

/** A PEM certificate and key in files (removed by the destructor). */
struct test_certificate {
    std::string cert_path;
    std::string key_path;
    ~test_certificate();
};

/** A self-signed certificate for `dns_name` only (no IP address in it), valid for a day. */
std::unique_ptr<test_certificate> make_self_signed_certificate(std::string const& dns_name);

/** One robot connection as the fake relay sees it. */
class fake_robot_session {
public:
    virtual ~fake_robot_session() = default;
    /** Sends a message to the robot. */
    virtual void send(boost::json::value const& message) = 0;
    /** The next message from the robot; nullopt on timeout or when closed. */
    virtual std::optional<boost::json::value> read(std::chrono::milliseconds timeout = std::chrono::seconds(10)) = 0;
    /** Reads until a message of `type` (others are dropped); null on timeout. */
    boost::json::value expect(std::string const& type, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /** Closes with a WebSocket close code. */
    virtual void close(std::uint16_t code) = 0;
};

/** Listens on 127.0.0.1, plain or (with a certificate) TLS. */
class fake_relay {
public:
    explicit fake_relay(test_certificate const* tls = nullptr);
    ~fake_relay();
    std::uint16_t port() const;

    /**
     * Accepts one connection, upgrades it, sends auth_challenge and checks the robot's answer
     * against `device_id` / `secret`: auth_ok when right, error + close 4401 (and nullptr) when
     * wrong. nullptr as well when no robot connects in time or the TLS handshake fails.
     */
    std::unique_ptr<fake_robot_session> accept_robot(std::string const& device_id, std::string const& secret,
                                                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/** A request the local HTTP server received. */
struct received_request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers; ///< lower-case names
    std::string body;
};

/** What the local HTTP server answers. */
struct canned_response {
    unsigned status = 200;
    std::map<std::string, std::string> headers;
    std::string body;
};

/** A one-thread HTTP/1.1 server on 127.0.0.1 answering every request with `handler`. */
class local_http_server {
public:
    explicit local_http_server(std::function<canned_response(received_request const&)> handler);
    ~local_http_server();
    std::uint16_t port() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace relay::test
