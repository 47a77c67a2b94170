#pragma once
/** @file A store decorator that measures every call, for the operator's dashboards. */
#include <relay/store/store.hpp>

#include <memory>

namespace relay::telemetry {
class registry;
}

namespace relay::store {

/**
 * Wraps `inner` so that every call is measured, without its callers knowing:
 *
 * - `relay_store_duration_seconds{op="<operation>"}`, a histogram of how long each call took,
 *   including any wait for the database connection or another process's lock;
 * - `relay_store_errors_total{op,code}`, calls that failed because of the database itself
 *   (`code` = `unavailable` or `internal`). Answers such as errc::user_not_found or
 *   errc::email_taken are results, not failures, and are not counted.
 *
 * `op` is the name of the store function (`find_user_by_email`, `consume_refresh_token`, …).
 * A series appears on its operation's first call. `metrics` must outlive the returned store.
 */
std::unique_ptr<store> make_timed_store(std::unique_ptr<store> inner, telemetry::registry& metrics);

} // namespace relay::store
