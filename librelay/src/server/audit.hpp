#pragma once
// The audit trail's writing side (docs/auth.md, "Audit trail"): what the routes call to record
// who did what, and the retention pruning. Recording never fails nor slows the request it
// records: the entry is written later, in order, on the store-writes strand.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace relay::server {

struct runtime;

/** An action to record: who did it, what, and to what. When and from where are added by
 * record_audit. `actor` is a user id, a device id, "operator" or "relay"; empty when unknown. */
struct audit_event {
    std::string actor = {};
    std::string action = {}; ///< dotted, from the list in docs/auth.md ("device.renamed", …)
    std::optional<std::string> device_id = std::nullopt;
    std::optional<std::string> target_user_id = std::nullopt;
    boost::json::object detail = {};
};

/**
 * Records `e`, done now from `client_address`, in the store. Returns at once: the write runs on
 * rt.store_writes after every write queued before it. A store failure is logged
 * (`audit_write_failed`) and counted in relay_audit_write_failures_total, never surfaced; every
 * recorded entry counts in relay_audit_entries_total{action}.
 */
void record_audit(runtime& rt, std::string const& client_address, audit_event e);

/**
 * Deletes the entries older than `now` minus rt.options.audit_retention (nothing when the
 * retention is 0) and returns how many; logs the count when there were any. Blocking: call it on
 * the blocking pool (the hourly pruning posts it to rt.store_writes).
 */
std::size_t prune_audit_trail(runtime& rt, std::chrono::system_clock::time_point now);

} // namespace relay::server
