// relayd db copy: every row of one store into another, through the snapshot both backends
// export and import, so any direction works (SQLite → PostgreSQL is the usual one).
#include <relay/store/store.hpp>

#include <filesystem>
#include <string>
#include <system_error>

namespace relay::store {
namespace {

open_error copy_error(errc code, std::string message)
{
    return open_error{make_error_code(code), std::move(message)};
}

/** Opens one side of the copy; `side` is "source" or "target" for the message. */
boost::system::result<std::unique_ptr<store>, open_error> open_side(std::string_view location, std::string_view side,
                                                                    store_options const& options)
{
    auto const shown = redact_location(location);
    // A :memory: database lives and dies inside one process: nothing to copy from or keep.
    if (location == ":memory:")
        return copy_error(errc::forbidden, "the " + std::string(side) +
                                               " is :memory:, which lives only inside one process; name a file or a "
                                               "PostgreSQL URL");
    // Opening a SQLite file creates it: a mistyped source must not become an empty database.
    std::error_code ec;
    if (side == "source" && !is_postgresql_location(location) && !std::filesystem::exists(std::string(location), ec))
        return copy_error(errc::unavailable, "cannot open the source " + shown + ": the file does not exist");
    auto opened = open_store(location, options);
    if (!opened)
        return copy_error(opened.error().code == errc::unavailable ? errc::unavailable : errc::internal,
                          "cannot open the " + std::string(side) + " " + shown + ": " + opened.error().message);
    return std::move(*opened);
}

} // namespace

boost::system::result<copy_report, open_error> copy_store(std::string_view from, std::string_view to,
                                                          copy_options const& copy, store_options const& options)
{
    if (from == to)
        return copy_error(errc::forbidden, "the source and the target are the same database (" +
                                               redact_location(from) + ")");
    auto source = open_side(from, "source", options);
    if (!source)
        return source.error();
    auto target = open_side(to, "target", options);
    if (!target)
        return target.error();

    auto rows = (*source)->export_snapshot();
    if (!rows)
        return copy_error(rows.error() == errc::unavailable ? errc::unavailable : errc::internal,
                          "cannot read the source " + redact_location(from) + ": " + rows.error().message());
    if (auto r = (*target)->import_snapshot(*rows, copy.mode); !r) {
        if (r.error() == errc::forbidden)
            return copy_error(errc::forbidden, "the target " + redact_location(to) +
                                                   " already holds accounts, devices or tokens; copy into an empty "
                                                   "database, or replace everything it holds");
        return copy_error(r.error() == errc::unavailable ? errc::unavailable : errc::internal,
                          "cannot write the target " + redact_location(to) + " (nothing was written): " +
                              r.error().message());
    }
    return copy_report{rows->users.size(),   rows->refresh_tokens.size(), rows->reset_tokens.size(),
                       rows->devices.size(), rows->memberships.size(),    rows->sessions.size(),
                       rows->audit.size()};
}

} // namespace relay::store
