#pragma once
// What the robot SDK tests share: a recorder of the client's callbacks that tests can wait on,
// client options pointed at a local relay with a quick reconnect schedule, and app-side reads.
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/robot/client.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace relay::test {

using namespace std::chrono_literals;

/** Records on_connected / on_disconnected / on_error; every wait has a generous timeout. */
class client_events {
public:
    void attach(relay::robot::client& c)
    {
        c.on_connected([this](relay::robot::connection_info const& info) {
            std::lock_guard lock(mutex_);
            connects_.push_back(info);
            cv_.notify_all();
        });
        c.on_disconnected([this](relay::robot::disconnect_info const& info) {
            std::lock_guard lock(mutex_);
            disconnects_.push_back(info);
            cv_.notify_all();
        });
        c.on_error([this](relay::protocol::error const& e) {
            std::lock_guard lock(mutex_);
            errors_.push_back(e);
            cv_.notify_all();
        });
    }

    /** Waits until at least `n` connections were reported. */
    bool wait_connects(std::size_t n, std::chrono::milliseconds timeout = 30s)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return connects_.size() >= n; });
    }

    /** Waits until at least `n` disconnects were reported. */
    bool wait_disconnects(std::size_t n, std::chrono::milliseconds timeout = 30s)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return disconnects_.size() >= n; });
    }

    /** Waits for a disconnect with `reason`; returns it. */
    std::optional<relay::robot::disconnect_info> wait_reason(relay::robot::disconnect_reason reason,
                                                             std::chrono::milliseconds timeout = 30s)
    {
        std::unique_lock lock(mutex_);
        std::optional<relay::robot::disconnect_info> found;
        cv_.wait_for(lock, timeout, [&] {
            for (auto const& d : disconnects_)
                if (d.reason == reason) {
                    found = d;
                    return true;
                }
            return false;
        });
        return found;
    }

    /** Waits until `n` reports of `reason` were made. */
    bool wait_reason_count(relay::robot::disconnect_reason reason, std::size_t n, std::chrono::milliseconds timeout = 30s)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] {
            return static_cast<std::size_t>(std::count_if(disconnects_.begin(), disconnects_.end(),
                                                          [&](auto const& d) { return d.reason == reason; })) >= n;
        });
    }

    bool wait_errors(std::size_t n, std::chrono::milliseconds timeout = 30s)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return errors_.size() >= n; });
    }

    std::vector<relay::robot::connection_info> connects() const
    {
        std::lock_guard lock(mutex_);
        return connects_;
    }
    std::vector<relay::robot::disconnect_info> disconnects() const
    {
        std::lock_guard lock(mutex_);
        return disconnects_;
    }
    std::vector<relay::protocol::error> errors() const
    {
        std::lock_guard lock(mutex_);
        return errors_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<relay::robot::connection_info> connects_;
    std::vector<relay::robot::disconnect_info> disconnects_;
    std::vector<relay::protocol::error> errors_;
};

/** A relayd with an account and one device of theirs: where the cases against a real relay
 *  begin, taken apart in one line: `auto&& [relayd, owner, dev] = relay_with_device("wimz-001");`. */
struct relay_with_device {
    explicit relay_with_device(std::string const& device_id)
        : owner(make_account(relayd.port())), dev(make_device(relayd.port(), owner, device_id))
    {
    }
    relayd_process relayd{test_env()};
    account owner;
    device_credentials dev;
};

/** A client on `options`, its events recorded, started: how most cases begin, taken apart in one
 *  line: `auto&& [seen, robot] = started_client(options);`. */
struct started_client {
    explicit started_client(relay::robot::client_options const& options) : client(options)
    {
        events.attach(client);
        client.start();
    }
    client_events events; // declared first: it outlives the client that reports to it
    relay::robot::client client;
};

/** Options for a robot on a local relay, reconnecting quickly (tests wait on events, not time). */
inline relay::robot::client_options robot_options(std::uint16_t port, device_credentials const& device)
{
    relay::robot::client_options o;
    o.url = "ws://127.0.0.1:" + std::to_string(port);
    o.device_id = device.device_id;
    o.device_secret = device.secret;
    o.reconnect = {std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
    o.handshake_timeout = 10s;
    return o;
}

/** The next robot event an app receives (presence events are skipped); null on timeout. */
inline boost::json::value next_robot_event(ws_client& app, std::chrono::milliseconds timeout = 20s)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return nullptr;
        auto e = app.expect("event", left);
        if (e.is_null())
            return e;
        auto name = e.at("event").as_string();
        if (name != "robot_connected" && name != "robot_disconnected")
            return e;
    }
}

/** The next presence event (robot_connected / robot_disconnected) an app receives. */
inline std::string next_presence(ws_client& app, std::chrono::milliseconds timeout = 20s)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return {};
        auto e = app.expect("event", left);
        if (e.is_null())
            return {};
        std::string name(e.at("event").as_string());
        if (name == "robot_connected" || name == "robot_disconnected")
            return name;
    }
}

} // namespace relay::test
