// How many threads run store calls: enough for every PostgreSQL connection to be busy while a
// password is hashed, and no more than SQLite's one connection can use.
#include "server/runtime.hpp"

#include <doctest/doctest.h>

using relay::server::blocking_thread_count;
using relay::server::server_options;

TEST_CASE("blocking threads: 2 for SQLite, database_pool + 1 for PostgreSQL, or as set")
{
    server_options o;
    o.database = "relay.db";
    CHECK(blocking_thread_count(o) == 2);
    o.database = ":memory:";
    CHECK(blocking_thread_count(o) == 2);

    o.database = "postgresql://relay@127.0.0.1/relay";
    CHECK(blocking_thread_count(o) == 5); // the default pool of 4
    o.database_pool = 16;
    o.database = "postgres://relay@127.0.0.1/relay";
    CHECK(blocking_thread_count(o) == 17);

    o.blocking_threads = 3;
    CHECK(blocking_thread_count(o) == 3);
}
