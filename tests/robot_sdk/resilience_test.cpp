// The robot client across failures of a real relayd: a restart (no event lost when the outage
// is shorter than the outbox) and a relay that stops answering (keepalive detection).
#include "sdk_test_support.hpp"
#include "support/relayd_process.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace relay::test;
namespace json = boost::json;
namespace robot = relay::robot;

namespace {

/** A loopback port nobody listens on right now (the relay is restarted on the same one). */
std::uint16_t free_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/** The pid of the one relayd this test process started (relayd_process keeps it private). */
pid_t child_relayd_pid()
{
    std::vector<pid_t> found;
    for (auto const& entry : std::filesystem::directory_iterator("/proc")) {
        auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line))
            continue;
        // pid (comm) state ppid …; comm may hold spaces, so parse from the last ')'.
        auto open = line.find('(');
        auto close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos)
            continue;
        std::string comm = line.substr(open + 1, close - open - 1);
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (comm == "relayd" && ppid == getpid())
            found.push_back(static_cast<pid_t>(std::stoi(name)));
    }
    if (found.size() != 1)
        throw std::runtime_error("expected exactly one relayd child, found " + std::to_string(found.size()));
    return found.front();
}

} // namespace

TEST_CASE("events sent while relayd restarts wait in the outbox and none is lost")
{
    temp_dir dir;
    auto port = free_port();
    auto env = test_env({{"RELAY_DATABASE", dir.path() + "/relay.db"},
                         {"RELAY_JWT_SECRET", std::string(48, 'j')},
                         {"RELAY_PORT", std::to_string(port)}});

    auto relayd = std::make_unique<relayd_process>(env);
    REQUIRE(relayd->port() == port);
    auto owner = make_account(port);
    auto dev = make_device(port, owner, "wimz-101");
    auto app = connect_app(port, owner);

    auto options = robot_options(port, dev);
    options.outbox_capacity = 100;
    auto&& [seen, robot] = started_client(options);
    REQUIRE(seen.wait_connects(1));
    for (int i = 0; i < 3; ++i)
        CHECK(!robot.send_event("step", json::object{{"i", i}}));
    for (int i = 0; i < 3; ++i) {
        auto e = next_robot_event(*app);
        REQUIRE(!e.is_null());
        CHECK(e.at("data").at("i") == i);
    }

    // The relay goes away; the robot notices and keeps what it sends meanwhile.
    app.reset();
    relayd->stop(SIGTERM);
    relayd.reset();
    REQUIRE(seen.wait_disconnects(1));
    auto lost = seen.disconnects().front();
    CHECK(lost.was_connected);
    CHECK(lost.will_retry);
    for (int i = 3; i < 10; ++i)
        CHECK(!robot.send_event("step", json::object{{"i", i}}));
    CHECK(robot.stats().outbox_size == 7);
    CHECK(!robot.connected());

    // The same relay comes back on the same port and database.
    relayd = std::make_unique<relayd_process>(env);
    REQUIRE(seen.wait_connects(2));
    // flush() returns once the new relay has processed all seven.
    REQUIRE(robot.flush(30s));
    CHECK(robot.stats().outbox_size == 0);
    CHECK(robot.stats().events_dropped == 0);

    // The app (same token: the JWT secret is fixed) asks for what it missed, in order.
    auto app2 = connect_app(port, owner);
    app2->send(json::object{{"type", "resume"}, {"device_id", "wimz-101"}, {"after_seq", 0}});
    std::vector<int> got;
    for (int n = 0; n < 7; ++n) {
        auto e = next_robot_event(*app2);
        REQUIRE(!e.is_null());
        CHECK(e.at("event") == "step");
        got.push_back(static_cast<int>(e.at("data").at("i").to_number<std::int64_t>()));
    }
    CHECK(got == std::vector<int>{3, 4, 5, 6, 7, 8, 9});
    auto resumed = app2->expect("resumed", 20s);
    REQUIRE(!resumed.is_null());
    CHECK(resumed.at("complete") == true);
}

TEST_CASE("a relay that stops answering is detected by keepalive and left for a new connection")
{
    relayd_process relayd(test_env());
    auto owner = make_account(relayd.port());
    auto dev = make_device(relayd.port(), owner, "wimz-102");

    auto options = robot_options(relayd.port(), dev);
    // Generous against a loaded machine: a healthy relay answers a ping within milliseconds.
    options.ping_interval = 500ms;
    options.keepalive_timeout = 8000ms;
    options.handshake_timeout = 3000ms;
    auto&& [seen, robot] = started_client(options);
    REQUIRE(seen.wait_connects(1));

    // The client's own pings keep a healthy connection up well past keepalive_timeout.
    auto app = connect_app(relayd.port(), owner);
    std::this_thread::sleep_for(10000ms);
    CHECK(seen.disconnects().empty());
    CHECK(robot.connected());

    // Frozen, the relay still holds the TCP connection open but answers nothing.
    pid_t pid = child_relayd_pid();
    REQUIRE(kill(pid, SIGSTOP) == 0);
    auto dead = seen.wait_reason(robot::disconnect_reason::keepalive_timeout, 60s);
    REQUIRE(kill(pid, SIGCONT) == 0);
    REQUIRE(dead);
    CHECK(dead->was_connected);
    CHECK(dead->will_retry);
    CHECK(dead->message.find("nothing heard") != std::string::npos);
    CHECK(robot.stats().keepalive_timeouts == 1);

    // Thawed, the relay takes the robot back on a new connection.
    REQUIRE(seen.wait_connects(2, 60s));
    CHECK(!robot.send_event("back"));
    auto e = next_robot_event(*app);
    REQUIRE(!e.is_null());
    CHECK(e.at("event") == "back");
}
