#include "server/audit.hpp"

#include "server/runtime.hpp"

#include <relay/protocol/timestamp.hpp>
#include <relay/server/audit_json.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace relay::server {
namespace {

std::int64_t unix_ms(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

} // namespace

void record_audit(runtime& rt, std::string const& client_address, audit_event e)
{
    store::audit_entry row;
    // Stamped here, on the request's thread: the time the action happened, not the write.
    row.at_ms = unix_ms(std::chrono::system_clock::now());
    row.actor = std::move(e.actor);
    row.action = std::move(e.action);
    row.device_id = std::move(e.device_id);
    row.target_user_id = std::move(e.target_user_id);
    row.client_address = client_address;
    row.detail = boost::json::serialize(e.detail);
    rt.metrics.registry
        .get_counter("relay_audit_entries_total", "Audit-trail entries recorded, by action.", {{"action", row.action}})
        .inc();
    net::post(rt.store_writes, [st = &rt, row = std::move(row)] {
        if (auto r = st->store->insert_audit(row); !r) {
            st->log.warn("audit_write_failed", {{"action", row.action}, {"error", r.error().message()}});
            st->metrics.registry
                .get_counter("relay_audit_write_failures_total",
                             "Audit-trail entries lost because the store failed to write them.")
                .inc();
        }
    });
}

boost::json::object audit_entry_json(store::audit_entry const& e, bool with_address)
{
    boost::system::error_code ec;
    auto detail = boost::json::parse(e.detail, ec);
    auto optional = [](std::optional<std::string> const& v) -> boost::json::value {
        return v ? boost::json::value(*v) : boost::json::value(nullptr);
    };
    auto text_or_null = [](std::string const& v) -> boost::json::value {
        return v.empty() ? boost::json::value(nullptr) : boost::json::value(v);
    };
    return boost::json::object{
        {"id", e.id},
        {"at", protocol::format_timestamp(protocol::timestamp(std::chrono::milliseconds(e.at_ms)))},
        {"actor", text_or_null(e.actor)},
        {"action", e.action},
        {"device_id", optional(e.device_id)},
        {"target_user_id", optional(e.target_user_id)},
        {"client_address", with_address ? text_or_null(e.client_address) : boost::json::value(nullptr)},
        {"detail", !ec && detail.is_object() ? std::move(detail) : boost::json::object{}},
    };
}

std::size_t prune_audit_trail(runtime& rt, std::chrono::system_clock::time_point now)
{
    if (rt.options.audit_retention.count() <= 0)
        return 0;
    auto pruned = rt.store->prune_audit(unix_ms(now - rt.options.audit_retention));
    if (!pruned) {
        rt.log.warn("audit_prune_failed", {{"error", pruned.error().message()}});
        return 0;
    }
    if (*pruned > 0)
        rt.log.info("audit_pruned", {{"entries", *pruned}});
    return *pruned;
}

} // namespace relay::server
