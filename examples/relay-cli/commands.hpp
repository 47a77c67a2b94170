#pragma once
// relay-cli's commands. Each takes the arguments after its name, prints its own --help, and
// returns the process exit status.
#include "session.hpp"

#include <string>
#include <vector>

namespace relay::cli {

/** Exit statuses, the same for every command (also in `relay-cli --help`). */
enum exit_status : int {
    exit_ok = 0,          ///< done
    exit_failed = 1,      ///< the relay or the robot said no (error answer, ok:false, not logged in)
    exit_usage = 2,       ///< the command was called wrongly
    exit_unreachable = 3, ///< the relay could not be reached, or no answer came in time
};

using arg_list = std::vector<std::string>;

int cmd_login(cli_context& context, arg_list const& args);
int cmd_register(cli_context& context, arg_list const& args);
int cmd_logout(cli_context& context, arg_list const& args);
int cmd_devices(cli_context& context, arg_list const& args);
int cmd_device(cli_context& context, arg_list const& args);
int cmd_watch(cli_context& context, arg_list const& args);
int cmd_send(cli_context& context, arg_list const& args);
int cmd_rest(cli_context& context, arg_list const& args);
int cmd_turn(cli_context& context, arg_list const& args);
int cmd_webrtc_probe(cli_context& context, arg_list const& args);

} // namespace relay::cli
