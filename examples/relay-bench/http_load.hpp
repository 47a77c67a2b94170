#pragma once
/** @file Keep-alive HTTP/1.1 clients that send the same request back to back for a while and
 * time each answer: the load of the tunnel scenario, aimed at the local API or at the relay. */
#include "io_pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace relay::bench {

/** One phase: `connections` clients, each with one request in flight, for warmup + duration. */
struct http_load_plan {
    tcp::endpoint server;
    std::string target;  ///< e.g. "/status" or "/api/devices/ID/rest/status"
    std::string bearer;  ///< Authorization: Bearer …, when not empty
    unsigned connections = 1;
    double warmup_s = 1;
    double duration_s = 5;
    double timeout_s = 60; ///< longest wait for one connect or answer
};

/** What the measured part of a phase saw. */
struct http_load_result {
    std::vector<std::int64_t> latency_ns; ///< request written → answer read, for every 200
    std::uint64_t answered = 0;           ///< 200 answers completed in the measured interval
    std::uint64_t errors = 0;             ///< other answers and failed connects, writes or reads
    std::uint64_t reconnects = 0;         ///< connections opened after the first, by the server's choice or an error
    std::string first_error;
    double seconds = 0; ///< length of the measured interval

    /** Counts an error, keeping the first one's description. */
    void record_error(std::string why)
    {
        if (errors++ == 0)
            first_error = std::move(why);
    }

    /** Adds another client's tally to this one. */
    void merge(http_load_result const& part)
    {
        latency_ns.insert(latency_ns.end(), part.latency_ns.begin(), part.latency_ns.end());
        answered += part.answered;
        reconnects += part.reconnects;
        if (errors == 0)
            first_error = part.first_error;
        errors += part.errors;
    }
};

/** Runs `client(i)` for i in [0, count) as coroutines, client i on context i of `pool`, and
 * waits up to `seconds` until every one has returned; false when one still runs then. A client
 * that throws is reported on stderr as `what`'s and counts as returned. */
bool run_clients(io_pool& pool, std::size_t count, std::function<net::awaitable<void>(std::size_t)> const& client,
                 std::string const& what, double seconds);

/** Runs the phase on `pool` (client i on context i) and returns when every client stopped. */
http_load_result run_http_load(io_pool& pool, http_load_plan const& plan);

} // namespace relay::bench
