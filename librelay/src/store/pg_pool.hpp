#pragma once
/** @file The PostgreSQL store's connections: opened lazily up to a size, lent one caller at a
 * time, and a short "down" state after a failed connect so that callers fail fast. */
#include "store/pg_connection.hpp"

#include <relay/store/store.hpp>
#include <relay/telemetry/log.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace relay::store::detail::pg {

/** How to reach the server: the URL as given (never logged) and what may be shown. */
struct server_address {
    std::string url;      ///< the libpq URI, password included; passed to libpq only
    std::string redacted; ///< redact_location(url), for messages and logs
};

/**
 * Opens one connection with the relay's defaults (connect timeout, keepalives, application_name),
 * which the URL's own parameters override, then sets the session's statement timeout. On failure
 * returns null and sets `why` to libpq's message.
 */
conn_ptr connect(server_address const& address, store_options const& options, std::string& why);

/**
 * A bounded pool. Threading: `mutex_` guards every member below it; connecting happens outside
 * the lock, with the slot counted in `open_` so the size is never exceeded.
 */
class pool {
public:
    class lease;

    pool(server_address address, store_options const& options, telemetry::logger& log);

    /**
     * A connection for one operation, waiting at most about the connect timeout for a free one.
     * errc::unavailable (with `why`) when the server cannot be reached, has been unreachable
     * within the current back-off, or every connection stayed busy.
     */
    result<lease> acquire(std::string& why);

    server_address const& address() const noexcept { return address_; }

    /** A connection lent by acquire(); returned to the pool when destroyed. */
    class lease {
    public:
        lease(lease&& other) noexcept
            : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_))
        {
        }
        lease& operator=(lease&&) = delete;
        ~lease();

        connection& operator*() const noexcept { return *conn_; }
        connection* operator->() const noexcept { return conn_.get(); }

        /** Closes the connection instead of returning it: it was lost or is in an unknown state.
         * `lost` also drops the idle ones, which a restarted server has closed as well. */
        void discard(bool lost);

    private:
        friend class pool;
        lease(pool* p, std::unique_ptr<connection> c) noexcept : pool_(p), conn_(std::move(c)) {}
        pool* pool_;
        std::unique_ptr<connection> conn_;
    };

private:
    void give_back(std::unique_ptr<connection> c);
    void forget(bool drop_idle);
    void mark_down(std::string const& why);
    void mark_up();

    server_address const address_;
    store_options const options_;
    telemetry::logger& log_;
    std::chrono::milliseconds const wait_limit_;

    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::size_t open_ = 0; // idle, lent, and being opened
    std::chrono::steady_clock::time_point down_until_{};
    std::chrono::milliseconds backoff_{500};
    bool down_ = false;     // an outage has been logged and not yet its end
    bool probing_ = false;  // while down: one caller is trying to connect
    std::string down_why_;  // libpq's message for the last failed connect
};

} // namespace relay::store::detail::pg
