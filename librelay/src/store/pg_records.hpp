#pragma once
/** @file Reading the relay's records from PostgreSQL rows: one reader per record, with the column
 * list it expects, shared by the operations and export_snapshot. */
#include "store/pg_connection.hpp"

#include <relay/store/types.hpp>

#include <vector>

// Column lists in each reader's order; macros so that every query stays one string literal (the
// statement registry is keyed by the literal).
#define RELAY_PG_USER_COLUMNS "id, email, password_hash, created_at"
#define RELAY_PG_DEVICE_COLUMNS                                                                            \
    "d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities, d.firmware, d.key_type, " \
    "d.public_key"
#define RELAY_PG_SESSION_COLUMNS                                                                           \
    "session_id, device_id, user_id, started_at, connected_at, ended_at, connection_type, end_reason, rtt_ms"

namespace relay::store::detail::pg {

inline user read_user(rows const& r, int i)
{
    return user{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3)};
}

inline device read_device(rows const& r, int i)
{
    return device{r.text(i, 0),          r.text(i, 1), r.text(i, 2), r.int64(i, 3), r.optional_int64(i, 4), r.text(i, 5),
                  r.optional_text(i, 6), key_type_from_name(r.text(i, 7)), r.text(i, 8)};
}

inline webrtc_session read_session(rows const& r, int i)
{
    return webrtc_session{r.text(i, 0),          r.text(i, 1),          r.text(i, 2),
                          r.int64(i, 3),         r.optional_int64(i, 4), r.optional_int64(i, 5),
                          r.optional_text(i, 6), r.optional_text(i, 7), r.optional_int64(i, 8)};
}

/** Every row, each made by `read(rows, i)`. */
template <class Read> auto read_all(rows const& r, Read read) -> std::vector<decltype(read(r, 0))>
{
    std::vector<decltype(read(r, 0))> out;
    out.reserve(static_cast<std::size_t>(r.size()));
    for (int i = 0; i < r.size(); ++i)
        out.push_back(read(r, i));
    return out;
}

} // namespace relay::store::detail::pg
