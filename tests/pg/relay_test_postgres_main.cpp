// relay-test-postgres start|stop <dir>: the ctest fixture that shares one PostgreSQL server among
// the entries of a test run. `start` starts it and describes it in <dir> (RELAY_TEST_POSTGRES_DIR
// for the entries); `stop` stops it and removes its data.
#include "pg/postgres_server.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string_view>

int main(int argc, char** argv)
{
    using relay::test::pg::postgres_server;
    if (argc != 3 || (std::string_view(argv[1]) != "start" && std::string_view(argv[1]) != "stop")) {
        std::fprintf(stderr, "usage: relay-test-postgres start|stop <dir>\n");
        return 2;
    }
    std::string const dir = argv[2];
    try {
        // A server an interrupted run left behind goes first, in either case.
        if (std::filesystem::exists(dir + "/server")) {
            postgres_server::adopt(dir).reset();
            std::filesystem::remove(dir + "/server");
        }
        if (std::string_view(argv[1]) == "start") {
            postgres_server server;
            server.detach_to(dir);
            std::printf("PostgreSQL for the tests on 127.0.0.1:%u, described in %s\n", unsigned{server.port()},
                        dir.c_str());
        }
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "relay-test-postgres %s: %s\n", argv[1], e.what());
        return 1;
    }
}
