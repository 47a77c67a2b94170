#pragma once
/** @file A prepared SQLite statement borrowed from the store's cache, with typed binds and reads. */
#include "store/role_numbers.hpp"

#include <relay/store/types.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace relay::store::detail {

/**
 * A cached statement in use. Parameters are bound in order by bind(); the destructor resets
 * the statement and clears its bindings so the cache can hand it out again. It must be used and
 * destroyed while the store's mutex is held.
 */
class statement {
public:
    explicit statement(sqlite3_stmt* s) noexcept : stmt_(s) {}
    statement(statement&& other) noexcept
        : stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_), next_(other.next_)
    {
    }
    statement& operator=(statement&&) = delete;
    statement(statement const&) = delete;
    statement& operator=(statement const&) = delete;
    ~statement();

    /** Binds the arguments to parameters 1, 2, …; a failure is reported by the next step(). */
    template <class... Args> statement& bind(Args const&... args)
    {
        (bind_one(args), ...);
        return *this;
    }

    /** SQLITE_ROW, SQLITE_DONE or an (extended) error code, including a failed bind. */
    int step() noexcept;

    std::int64_t int64(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
    bool is_null(int col) const noexcept { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    std::string text(int col) const;
    std::optional<std::int64_t> optional_int64(int col) const;
    std::optional<std::string> optional_text(int col) const;

private:
    void bind_one(std::string_view v) noexcept;
    void bind_one(std::string const& v) noexcept { bind_one(std::string_view(v)); }
    void bind_one(char const* v) noexcept { bind_one(std::string_view(v)); }
    void bind_one(std::int64_t v) noexcept;
    void bind_one(int v) noexcept { bind_one(static_cast<std::int64_t>(v)); }
    void bind_one(bool v) noexcept { bind_one(static_cast<std::int64_t>(v ? 1 : 0)); }
    void bind_one(role v) noexcept { bind_one(role_number(v)); }
    void bind_one(device_key_type v) noexcept { bind_one(key_type_name(v)); }
    void bind_one(std::nullopt_t) noexcept;
    template <class T> void bind_one(std::optional<T> const& v) noexcept
    {
        if (v)
            bind_one(*v);
        else
            bind_one(std::nullopt);
    }
    void record(int rc) noexcept;

    sqlite3_stmt* stmt_;
    int bind_rc_ = SQLITE_OK; // first bind failure, reported by step()
    int next_ = 1;            // index of the next parameter to bind
};

} // namespace relay::store::detail
