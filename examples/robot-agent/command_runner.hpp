#pragma once
// How the robot agent answers commands without C++: a program it runs once per command, or a
// webhook it POSTs the command to. Both get the command as JSON and give back a JSON result.
#include <relay/robot/local_api.hpp>

#include <relay/protocol/device_outbound.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace relay::agent {

/** What a command handler produced, ready for command_reply. */
struct command_outcome {
    bool ok = false;
    std::optional<boost::json::value> data;
    std::optional<boost::json::value> error;
};

/**
 * Reads a handler's output. `{"ok":…,"data"?,"error"?}` is taken as it stands. Other JSON is the
 * data of a success (or the `output` of a failure) as `succeeded` says; empty output is a bare
 * success or failure; output that is not JSON is a failure (BAD_OUTPUT). `failure_text` is the
 * message of a failure that says nothing itself (stderr, an HTTP status).
 */
command_outcome interpret_output(bool succeeded, std::string_view output, std::string const& failure_text);

/** How the program is run. */
struct program_options {
    std::string path;
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    std::size_t max_output = 1024 * 1024;
    std::string device_id;
};

/**
 * Runs the program with the command (its wire JSON) on stdin and RELAY_COMMAND, RELAY_COMMAND_ID,
 * RELAY_FROM_USER and RELAY_DEVICE_ID in its environment (RELAY_DEVICE_SECRET removed); reads
 * its stdout as the result. A program that outlives the timeout, or is still running when
 * `cancel` turns true, is killed with its process group.
 */
command_outcome run_command_program(program_options const& options, protocol::robot_command const& command,
                                    std::atomic<bool> const& cancel);

/** POSTs the command (its wire JSON) to the webhook; a 2xx answer's body is the result. */
command_outcome call_command_webhook(robot::http_target const& webhook, protocol::robot_command const& command,
                                     std::chrono::milliseconds timeout);

} // namespace relay::agent
