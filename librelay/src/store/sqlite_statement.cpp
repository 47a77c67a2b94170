#include "store/sqlite_statement.hpp"

#include <limits>

namespace relay::store::detail {

statement::~statement()
{
    if (stmt_) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

int statement::step() noexcept
{
    if (bind_rc_ != SQLITE_OK)
        return bind_rc_;
    return sqlite3_step(stmt_);
}

std::string statement::text(int col) const
{
    auto const* p = reinterpret_cast<char const*>(sqlite3_column_text(stmt_, col));
    if (!p)
        return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::int64_t> statement::optional_int64(int col) const
{
    if (is_null(col))
        return std::nullopt;
    return int64(col);
}

std::optional<std::string> statement::optional_text(int col) const
{
    if (is_null(col))
        return std::nullopt;
    return text(col);
}

void statement::bind_one(std::string_view v) noexcept
{
    if (v.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        record(SQLITE_TOOBIG);
        return;
    }
    // SQLITE_TRANSIENT: the bytes are copied, so the caller's view may die before step().
    // A null data pointer would bind NULL, so an empty view binds "" instead.
    record(sqlite3_bind_text(stmt_, next_++, v.data() ? v.data() : "", static_cast<int>(v.size()),
                             SQLITE_TRANSIENT));
}

void statement::bind_one(std::int64_t v) noexcept
{
    record(sqlite3_bind_int64(stmt_, next_++, v));
}

void statement::bind_one(std::nullopt_t) noexcept
{
    record(sqlite3_bind_null(stmt_, next_++));
}

void statement::record(int rc) noexcept
{
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK)
        bind_rc_ = rc;
}

} // namespace relay::store::detail
