// A third party's program: uses the installed headers and libraries only.
#include <relay/relay.hpp>
#include <relay/robot/client.hpp>

#include <iostream>

int main()
{
    auto code = relay::errc::device_offline;
    std::cout << relay::wire_name(code) << ' ' << relay::http_status(code) << '\n';

    // A robot's agent built against the installed robot SDK: a configured client (not started,
    // so no network) that queues an event in its outbox.
    relay::robot::client_options options;
    options.url = "wss://relay.example.com";
    options.device_id = "wimz-001";
    options.device_secret = "not-a-real-secret";
    relay::robot::client robot(options);
    if (robot.send_event("booted", boost::json::object{{"firmware", "1.0"}}))
        return 1;
    auto url = relay::robot::parse_relay_url(options.url);
    std::cout << relay::robot::to_string(*url) << " outbox " << robot.stats().outbox_size << '\n';
    return 0;
}
