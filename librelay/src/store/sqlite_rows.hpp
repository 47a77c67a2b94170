#pragma once
/** @file How rows of the SQLite tables become records, shared by the operations and the snapshot. */
#include "store/sqlite_statement.hpp"

namespace relay::store::detail {

// The columns each reader expects, in its order; macros so each query stays one string literal
// (the statement cache is keyed by the literal).
#define RELAY_USER_COLUMNS "id, email, password_hash, created_at"
#define RELAY_DEVICE_COLUMNS                                                                                  \
    "d.device_id, d.name, d.secret_sealed, d.created_at, d.last_seen, d.capabilities, d.firmware, d.key_type, "   \
    "d.public_key"
#define RELAY_SESSION_COLUMNS                                                                                 \
    "session_id, device_id, user_id, started_at, connected_at, ended_at, connection_type, end_reason, rtt_ms"

inline user read_user(statement const& st)
{
    return user{st.text(0), st.text(1), st.text(2), st.int64(3)};
}

inline device read_device(statement const& st)
{
    return device{st.text(0),          st.text(1), st.text(2), st.int64(3), st.optional_int64(4), st.text(5),
                  st.optional_text(6), key_type_from_name(st.text(7)), st.text(8)};
}

inline webrtc_session read_session(statement const& st)
{
    return webrtc_session{st.text(0),          st.text(1),          st.text(2),
                          st.int64(3),         st.optional_int64(4), st.optional_int64(5),
                          st.optional_text(6), st.optional_text(7), st.optional_int64(8)};
}

} // namespace relay::store::detail
