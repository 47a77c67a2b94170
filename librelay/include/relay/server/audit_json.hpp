#pragma once
/** @file An audit-trail entry as JSON: the one shape that GET /api/account/audit,
 * GET /api/devices/{id}/audit and `relayd audit --json` show (docs/api.md). */
#include <relay/store/types.hpp>

#include <boost/json/object.hpp>

namespace relay::server {

/**
 * `{"id","at","actor","action","device_id","target_user_id","client_address","detail"}`: `at` as
 * an ISO-8601 UTC time, absent values as null, `detail` parsed back into an object ({} when
 * damaged). `client_address` is null unless `with_address` (the API shows it only on the
 * caller's own entries; operators see every one).
 */
boost::json::object audit_entry_json(store::audit_entry const& e, bool with_address);

} // namespace relay::server
