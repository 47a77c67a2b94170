// `relayd audit`: the audit trail for operators (docs/auth.md, "Audit trail"), read straight
// from the configured database, newest first.
#include "admin.hpp"

#include <relay/auth/email.hpp>
#include <relay/protocol/timestamp.hpp>
#include <relay/server/audit_json.hpp>
#include <relay/store/store.hpp>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>

namespace relayd {
namespace {

namespace store = relay::store;

int fail(std::string const& message, int status = 1)
{
    std::fprintf(stderr, "relayd: %s\n", message.c_str());
    return status;
}

constexpr char const* usage_line =
    "usage: relayd audit [--device ID] [--user ID|EMAIL] [--since TIME|AGE] [--limit N] [--json] (see relayd --help)";

/** A whole number in [min, max]. */
std::optional<std::int64_t> whole(std::string_view text, std::int64_t min, std::int64_t max)
{
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < min || n > max)
        return std::nullopt;
    return n;
}

/** `--since`: an ISO-8601 UTC time, or an age such as 90m, 24h or 7d; unix milliseconds. */
std::optional<std::int64_t> since_ms(std::string const& text, std::chrono::system_clock::time_point now)
{
    using namespace std::chrono;
    if (auto t = relay::protocol::parse_timestamp(text))
        return duration_cast<milliseconds>(t->time_since_epoch()).count();
    if (text.size() < 2)
        return std::nullopt;
    auto n = whole(std::string_view(text).substr(0, text.size() - 1), 0, 100 * 365 * 24 * 60);
    if (!n)
        return std::nullopt;
    minutes age{};
    switch (text.back()) {
    case 'm': age = minutes(*n); break;
    case 'h': age = hours(*n); break;
    case 'd': age = hours(24 * *n); break;
    default: return std::nullopt;
    }
    return duration_cast<milliseconds>((now - age).time_since_epoch()).count();
}

std::string or_dash(std::optional<std::string> const& v)
{
    return v && !v->empty() ? *v : "-";
}

} // namespace

int run_audit(config const& cfg, std::vector<std::string> const& words)
{
    store::audit_query q;
    std::optional<std::string> user;
    bool json = false;
    auto const now = std::chrono::system_clock::now();
    for (std::size_t i = 1; i < words.size(); ++i) {
        auto const& w = words[i];
        if (w == "--json") {
            json = true;
            continue;
        }
        if (w != "--device" && w != "--user" && w != "--since" && w != "--limit")
            return fail(fmt::format("unknown argument '{}'; {}", w, usage_line), 2);
        if (i + 1 >= words.size())
            return fail(fmt::format("{} needs a value; {}", w, usage_line), 2);
        auto const& v = words[++i];
        if (w == "--device") {
            q.device_id = v;
        } else if (w == "--user") {
            user = v;
        } else if (w == "--since") {
            q.since_ms = since_ms(v, now);
            if (!q.since_ms)
                return fail(fmt::format("--since must be a UTC time such as 2026-12-01T00:00:00Z or an age such as "
                                        "90m, 24h or 7d, not '{}'",
                                        v),
                            2);
        } else {
            auto n = whole(v, 1, 100000);
            if (!n)
                return fail(fmt::format("--limit must be a whole number from 1 to 100000, not '{}'", v), 2);
            q.limit = static_cast<std::size_t>(*n);
        }
    }
    if (cfg.server.database == ":memory:")
        return fail("RELAY_DATABASE is :memory:; relayd audit needs the relay's database");
    store::store_options options;
    auto opened = store::open_store(cfg.server.database, options);
    if (!opened)
        return fail(opened.error().message);
    auto& db = **opened;
    if (user) {
        // An email names a live account; a deleted account's trail is found by its id.
        if (user->find('@') != std::string::npos) {
            auto found = db.find_user_by_email(relay::auth::normalize_email(*user));
            if (!found) {
                if (found.error() == relay::make_error_code(relay::errc::user_not_found))
                    return fail(fmt::format("no account has the email {} (a deleted account is found by its user id)",
                                            *user));
                return fail(fmt::format("database error: {}", found.error().message()));
            }
            q.user_id = found->id;
        } else {
            q.user_id = *user;
        }
    }
    auto entries = db.list_audit(q);
    if (!entries)
        return fail(fmt::format("database error on {}: {}", store::redact_location(cfg.server.database),
                                entries.error().message()));
    auto at = [](std::int64_t ms) {
        return relay::protocol::format_timestamp(relay::protocol::timestamp(std::chrono::milliseconds(ms)));
    };
    if (json) {
        boost::json::array out;
        for (auto const& e : *entries)
            out.push_back(relay::server::audit_entry_json(e, true));
        fmt::print("{}\n", boost::json::serialize(out));
        return 0;
    }
    // One line per entry, fields separated by spaces, `-` for none: easy to grep and to cut.
    for (auto const& e : *entries)
        fmt::print("{} {} actor={} device={} target={} from={} {}\n", at(e.at_ms), e.action,
                   e.actor.empty() ? "-" : e.actor, or_dash(e.device_id), or_dash(e.target_user_id),
                   e.client_address.empty() ? "-" : e.client_address, e.detail);
    if (entries->empty())
        std::fprintf(stderr, "relayd: no audit entries match\n");
    return 0;
}

} // namespace relayd
