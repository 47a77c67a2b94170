#include "store/pg_connection.hpp"

#include <charconv>
#include <cstring>

namespace relay::store::detail::pg {

std::string one_line(char const* message)
{
    std::string out = message ? message : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
        out.pop_back();
    // libpq indents continuation lines with a tab: "…refused\n\tIs the server running…".
    std::string flat;
    for (char c : out) {
        if (c == '\t' && !flat.empty() && flat.back() == ' ')
            continue;
        flat += c == '\n' || c == '\t' ? ' ' : c;
    }
    return flat;
}

std::string rows::text(int row, int col) const
{
    return std::string(PQgetvalue(res_.get(), row, col),
                       static_cast<std::size_t>(PQgetlength(res_.get(), row, col)));
}

std::optional<std::string> rows::optional_text(int row, int col) const
{
    if (is_null(row, col))
        return std::nullopt;
    return text(row, col);
}

std::int64_t rows::int64(int row, int col) const noexcept
{
    char const* v = PQgetvalue(res_.get(), row, col);
    std::int64_t out = 0;
    std::from_chars(v, v + PQgetlength(res_.get(), row, col), out);
    return out;
}

std::optional<std::int64_t> rows::optional_int64(int row, int col) const noexcept
{
    if (is_null(row, col))
        return std::nullopt;
    return int64(row, col);
}

bool rows::boolean(int row, int col) const noexcept
{
    return PQgetvalue(res_.get(), row, col)[0] == 't';
}

std::int64_t rows::affected() const noexcept
{
    char const* v = PQcmdTuples(res_.get());
    std::int64_t out = 0;
    std::from_chars(v, v + std::strlen(v), out);
    return out;
}

bool is_connection_failure(std::string_view sqlstate) noexcept
{
    // Class 08: connection exception; 57P01-57P03: the server is shutting down or starting.
    return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

std::optional<rows> connection::finish(PGresult* raw, failure& why)
{
    result_ptr res(raw);
    auto const status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return rows(std::move(res));
    why = failure{};
    if (res) {
        if (char const* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE))
            why.sqlstate = state;
        if (char const* name = PQresultErrorField(res.get(), PG_DIAG_CONSTRAINT_NAME))
            why.constraint = name;
        why.message = one_line(PQresultErrorMessage(res.get()));
    }
    if (why.message.empty())
        why.message = error_message();
    why.connection_lost = bad() || is_connection_failure(why.sqlstate);
    return std::nullopt;
}

std::optional<rows> connection::run_prepared(std::size_t id, char const* sql, std::initializer_list<param> params,
                                             failure& why)
{
    auto const name = "relay_" + std::to_string(id);
    if (id >= prepared_.size())
        prepared_.resize(id + 1, false);
    if (!prepared_[id]) {
        // Types are inferred from the statement: every parameter is sent as text.
        if (!finish(PQprepare(conn_.get(), name.c_str(), sql, 0, nullptr), why))
            return std::nullopt;
        prepared_[id] = true;
    }
    std::vector<char const*> values;
    values.reserve(params.size());
    for (auto const& p : params)
        values.push_back(p.c_str());
    return finish(PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                 nullptr, 0),
                  why);
}

std::optional<rows> connection::run_simple(char const* sql, failure& why)
{
    return finish(PQexec(conn_.get(), sql), why);
}

bool connection::healthy() noexcept
{
    if (bad())
        return false;
    // Never blocks: libpq's socket is non-blocking. A server that shut down sent its goodbye
    // and closed: the first read takes the message, the second meets the end of the stream and
    // turns the status bad.
    for (int i = 0; i < 2; ++i)
        if (PQconsumeInput(conn_.get()) == 0)
            return false;
    return !bad() && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
}

std::string connection::error_message() const
{
    return one_line(PQerrorMessage(conn_.get()));
}

} // namespace relay::store::detail::pg
