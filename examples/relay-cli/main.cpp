// relay-cli: a terminal client for a relay — log in, manage devices, watch a robot's events,
// send it commands, and check the REST tunnel, TURN and WebRTC signaling.
#include "args.hpp"
#include "commands.hpp"

#include <relay/version.hpp>

#include <cstdlib>
#include <iostream>
#include <map>

namespace {

using namespace relay::cli;

constexpr char const* usage = R"(usage: relay-cli [--relay URL] [--config FILE] [--ca-file FILE] [--timeout S] COMMAND [ARGS]

commands:
  login                         log in; tokens are kept in the config file (mode 0600)
  register                      create an account, then log in
  logout                        end the session and forget its tokens
  devices                       list your devices
  device add|share|rotate       create a device, share it, replace its secret
  device set-key|keygen         give a device an Ed25519 key; make a key pair (no relay needed)
  watch [DEVICE]                print live events (--json for scripts)
  send DEVICE COMMAND [JSON]    send a command and wait for the robot's result
  rest DEVICE METHOD PATH       call the robot's REST API through the relay
  turn DEVICE                   get TURN/STUN credentials for a session with DEVICE
  webrtc-probe DEVICE           run the WebRTC signaling flow and show each step

`relay-cli COMMAND --help` explains each command.

options:
  --relay URL     the relay (https://relay.example.com, http://127.0.0.1:8000); default: $RELAY_URL,
                  then the relay of the last login, then http://127.0.0.1:8000
  --config FILE   the config file; default $RELAY_CLI_CONFIG or ~/.config/relay-cli/config.json
  --ca-file FILE  extra trusted CA certificates (PEM) for https
  --timeout S     seconds to wait for the relay to answer a request (default 15)

exit status: 0 done, 1 refused (by the relay or the robot, or not logged in),
             2 wrong usage, 3 relay unreachable or no answer in time
)";

using command_fn = int (*)(cli_context&, arg_list const&);

} // namespace

int main(int argc, char** argv)
{
    std::map<std::string, command_fn> const commands = {
        {"login", cmd_login},   {"register", cmd_register}, {"logout", cmd_logout},
        {"devices", cmd_devices}, {"device", cmd_device},   {"watch", cmd_watch},
        {"send", cmd_send},     {"rest", cmd_rest},         {"turn", cmd_turn},
        {"webrtc-probe", cmd_webrtc_probe}};

    std::vector<std::string> all(argv + 1, argv + argc);
    // Global options come before the command; everything after it belongs to the command.
    std::size_t at = 0;
    std::vector<std::string> globals;
    while (at < all.size() && all[at].rfind("-", 0) == 0) {
        globals.push_back(all[at]);
        bool takes_value = all[at] == "--relay" || all[at] == "--config" || all[at] == "--ca-file" || all[at] == "--timeout";
        if (takes_value && at + 1 < all.size())
            globals.push_back(all[++at]);
        ++at;
    }
    try {
        auto g = parse_args(globals, {"--relay", "--config", "--ca-file", "--timeout"}, {"--help", "-h", "--version"});
        if (g.has("--version")) {
            std::cout << "relay-cli " << relay::version << "\n";
            return exit_ok;
        }
        if (g.has("--help") || g.has("-h") || at >= all.size() || all[at] == "help") {
            std::cout << usage;
            return at >= all.size() && !g.has("--help") && !g.has("-h") ? exit_usage : exit_ok;
        }
        auto command = commands.find(all[at]);
        if (command == commands.end())
            throw usage_error("unknown command '" + all[at] + "'");

        cli_context context{relay_endpoint{}, load_config(g.value("--config").value_or(default_config_path()))};
        std::string relay_text;
        if (auto r = g.value("--relay"))
            relay_text = *r;
        else if (auto* env = std::getenv("RELAY_URL"); env && *env)
            relay_text = env;
        else if (!context.config.default_relay.empty())
            relay_text = context.config.default_relay;
        else
            relay_text = "http://127.0.0.1:8000";
        context.relay = make_endpoint(relay_text, g.value("--ca-file").value_or(""));
        if (auto t = g.value("--timeout"))
            context.timeout = std::chrono::milliseconds(static_cast<long long>(seconds_arg("--timeout", *t) * 1000));

        return command->second(context, arg_list(all.begin() + static_cast<std::ptrdiff_t>(at) + 1, all.end()));
    } catch (usage_error const& e) {
        std::cerr << "relay-cli: " << e.what() << "\n(relay-cli --help, or relay-cli COMMAND --help)\n";
        return exit_usage;
    } catch (login_required const& e) {
        std::cerr << "relay-cli: " << e.what() << "\n";
        return exit_failed;
    } catch (network_error const& e) {
        std::cerr << "relay-cli: " << e.what() << "\n";
        return exit_unreachable;
    } catch (socket_closed const& e) {
        std::cerr << "relay-cli: the relay closed the connection (" << e.code << ": " << e.what() << ")\n";
        return exit_unreachable;
    } catch (std::exception const& e) {
        std::cerr << "relay-cli: " << e.what() << "\n";
        return exit_failed;
    }
}
