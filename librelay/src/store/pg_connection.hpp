#pragma once
/** @file One libpq connection: RAII for PGconn and PGresult, prepared statements with text
 * parameters, typed reads of text results, and what a failure was (SQLSTATE, lost connection). */
#include "store/role_numbers.hpp"

#include <relay/store/types.hpp>

#include <libpq-fe.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::store::detail::pg {

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

struct conn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;

/** One parameter in text format; an empty optional is SQL NULL. */
class param {
public:
    param(std::string_view v) : value_(std::string(v)) {}
    param(std::string const& v) : value_(v) {}
    param(char const* v) : value_(std::string(v)) {}
    param(std::int64_t v) : value_(std::to_string(v)) {}
    param(role r) : value_(std::to_string(role_number(r))) {}
    param(device_key_type t) : value_(std::string(key_type_name(t))) {}
    /** Only a real bool: an int must not silently become one. */
    template <class B>
        requires std::same_as<B, bool>
    param(B v) : value_(v ? "t" : "f")
    {
    }
    param(std::optional<std::string_view> v) : value_(v ? std::optional<std::string>(std::string(*v)) : std::nullopt) {}
    param(std::optional<std::string> const& v) : value_(v) {}
    param(std::optional<std::int64_t> v) : value_(v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt) {}

    /** NUL-terminated text, or null for SQL NULL. */
    char const* c_str() const noexcept { return value_ ? value_->c_str() : nullptr; }

private:
    std::optional<std::string> value_;
};

/** The rows of a query, read as text and parsed without exceptions. */
class rows {
public:
    rows() = default;
    explicit rows(result_ptr r) noexcept : res_(std::move(r)) {}

    int size() const noexcept { return res_ ? PQntuples(res_.get()) : 0; }
    bool empty() const noexcept { return size() == 0; }
    bool is_null(int row, int col) const noexcept { return PQgetisnull(res_.get(), row, col) != 0; }
    std::string text(int row, int col) const;
    std::optional<std::string> optional_text(int row, int col) const;
    /** A BIGINT or SMALLINT column; 0 for NULL (the schema makes the columns read so NOT NULL). */
    std::int64_t int64(int row, int col) const noexcept;
    std::optional<std::int64_t> optional_int64(int row, int col) const noexcept;
    bool boolean(int row, int col) const noexcept;
    /** The command tag ("COMMIT", "ROLLBACK", "UPDATE 1", …). */
    std::string_view command() const noexcept { return res_ ? PQcmdStatus(res_.get()) : ""; }
    /** How many rows an INSERT, UPDATE or DELETE changed. */
    std::int64_t affected() const noexcept;

private:
    result_ptr res_;
};

/** What went wrong with a statement, as libpq and the server said it. */
struct failure {
    std::string sqlstate;   ///< five characters; empty when the server sent none
    std::string message;    ///< the server's or libpq's message, one line
    std::string constraint; ///< the violated constraint's name, if any
    bool connection_lost = false;
};

/** Whether a SQLSTATE means that the connection (or the server) went away. */
bool is_connection_failure(std::string_view sqlstate) noexcept;

/**
 * One open connection. Not thread-safe: the pool hands it to one caller at a time.
 * Statements are prepared on first use, named after their index in the store's registry.
 */
class connection {
public:
    explicit connection(conn_ptr c) noexcept : conn_(std::move(c)) {}

    /**
     * Runs statement number `id` (text `sql`), preparing it on this connection first if needed.
     * On failure returns nullopt and fills `why`.
     */
    std::optional<rows> run_prepared(std::size_t id, char const* sql, std::initializer_list<param> params,
                                     failure& why);

    /** Runs fixed SQL from the code (BEGIN, DDL, SET) with the simple protocol; no parameters. */
    std::optional<rows> run_simple(char const* sql, failure& why);

    /**
     * Whether the connection still looks usable before it is lent: reads whatever the server
     * sent meanwhile without blocking (a server that shut down has said so and closed).
     */
    bool healthy() noexcept;

    bool bad() const noexcept { return PQstatus(conn_.get()) != CONNECTION_OK; }

    /** libpq's message about the connection, one line. */
    std::string error_message() const;

private:
    std::optional<rows> finish(PGresult* raw, failure& why);

    conn_ptr conn_;
    std::vector<bool> prepared_; // by statement id
};

/** libpq's message without its trailing newline, on one line. */
std::string one_line(char const* message);

} // namespace relay::store::detail::pg
