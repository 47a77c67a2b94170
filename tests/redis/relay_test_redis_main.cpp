// relay-test-redis start|stop <dir>: the ctest fixture that shares one redis-server among the
// entries of a test run. `start` starts it and describes it in <dir> (RELAY_TEST_REDIS_DIR for the
// entries); `stop` stops it and removes its directory.
#include "redis/redis_server.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string_view>

int main(int argc, char** argv)
{
    using relay::test::redis::redis_server;
    if (argc != 3 || (std::string_view(argv[1]) != "start" && std::string_view(argv[1]) != "stop")) {
        std::fprintf(stderr, "usage: relay-test-redis start|stop <dir>\n");
        return 2;
    }
    std::string const dir = argv[2];
    try {
        // A server an interrupted run left behind goes first, in either case.
        if (std::filesystem::exists(dir + "/server")) {
            redis_server::adopt(dir).reset();
            std::filesystem::remove(dir + "/server");
        }
        if (std::string_view(argv[1]) == "start") {
            redis_server server;
            server.detach_to(dir);
            std::printf("redis-server for the tests on 127.0.0.1:%u, described in %s\n", unsigned{server.port()},
                        dir.c_str());
        }
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "relay-test-redis %s: %s\n", argv[1], e.what());
        return 1;
    }
}
