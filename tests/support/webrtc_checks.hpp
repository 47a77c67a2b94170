#pragma once
// Checks on WebRTC signaling that the single-node and the cluster suites share.
#include "support/clients.hpp"

#include <chrono>
#include <string>

namespace relay::test {

/** Reads `ws` up to its next webrtc_close and checks that the relay (`by:"relay"`) ended
 * `session_id` with `reason`; fails the test when none comes within `timeout`. */
void expect_relay_close(ws_client& ws, std::string const& session_id, std::string const& reason,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace relay::test
