// The WebSocket commands: watch (live events), send (a command and its result), webrtc-probe
// (the signaling flow, step by step).
#include "args.hpp"
#include "commands.hpp"
#include "output.hpp"

#include <relay/protocol/common.hpp>
#include <relay/protocol/validation.hpp>
#include <relay/robot/backoff.hpp>

#include <boost/json.hpp>

#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

namespace relay::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr char const* watch_help = R"(usage: relay-cli watch [DEVICE] [--json] [--count N] [--no-reconnect]

Prints the live events of DEVICE (or of every device you may access) as they arrive:
    2026-11-21T20:15:03.123Z  wimz-001  #42  mission_progress  {"pct":40}
--json prints each event as the relay sent it, one JSON object per line, for scripts.
--count N stops after N robot events. When the connection drops, watch reconnects and asks
the relay for the events it missed (resume); --no-reconnect exits with status 3 instead.
watch renews its access token on the open connection before it expires; when the relay ends
the connection for the token (4401), it refreshes and reconnects, or exits with status 1 when
the login has ended (logout, password reset).
)";

constexpr char const* send_help = R"(usage: relay-cli send DEVICE COMMAND [JSON] [--timeout S] [--json]

Sends COMMAND (with JSON as its data) to the robot and waits for its answer, at most
--timeout seconds (default 30). Prints the result's data, or its error on stderr.
--json prints the command_result message as is.
Exit status: 0 when the robot answered ok, 1 when it answered not ok or the relay refused,
3 when no answer came in time.
)";

constexpr char const* probe_help = R"(usage: relay-cli webrtc-probe DEVICE [--media video|audio|both] [--quality low|medium|high|auto] [--wait S]

Runs the WebRTC signaling flow with DEVICE and prints what each side did: the request, the
relay's ICE credentials, the robot's offer and ICE candidates; then closes the session. No
media flows (there is no answer): this checks the relay, the robot's signaling and TURN setup.
--wait is how long to wait for the offer, and then for candidates (default 10 s).
Exit status: 0 when the robot sent an offer, 1 when the relay or the robot refused, 3 on timeout.
)";

std::string type_of(json::value const& m)
{
    return field(m, "type");
}

/** The event as a person reads it. */
std::string human_event(json::value const& e)
{
    std::ostringstream out;
    out << field(e, "ts") << "  " << field(e, "device_id") << "  ";
    auto const& o = e.as_object();
    if (auto* seq = o.if_contains("seq"))
        out << "#" << json::serialize(*seq) << "  ";
    out << field(e, "event");
    if (auto* data = o.if_contains("data"))
        out << "  " << json::serialize(*data);
    return out.str();
}

void require_device_id(std::string const& id)
{
    if (!protocol::is_valid_device_id(id))
        throw usage_error("'" + id + "' is not a device id");
}

} // namespace

int cmd_watch(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {"--count"}, {"--json", "--no-reconnect", "--help"});
    if (a.has("--help")) {
        std::cout << watch_help;
        return exit_ok;
    }
    if (a.positional.size() > 1)
        throw usage_error("watch takes at most one DEVICE");
    std::optional<std::string> only;
    if (!a.positional.empty()) {
        require_device_id(a.positional[0]);
        only = a.positional[0];
    }
    std::optional<unsigned long> count;
    if (auto c = a.value("--count")) {
        if (c->empty() || c->find_first_not_of("0123456789") != std::string::npos || c->size() > 9 || std::stoul(*c) == 0)
            throw usage_error("--count needs a positive number");
        count = std::stoul(*c);
    }
    bool as_json = a.has("--json");
    session s(context);
    std::map<std::string, std::uint64_t> last_seq; // per device, for resume after a reconnect
    unsigned long printed = 0;
    robot::backoff delays;
    bool first = true;
    bool token_refused = false; // the relay ended the last connection with 4401

    for (;;) {
        std::unique_ptr<app_socket> socket;
        try {
            socket = s.open_socket(token_refused);
            token_refused = false;
        } catch (network_error const& e) {
            if (first || a.has("--no-reconnect")) {
                std::cerr << "relay-cli: " << e.what() << "\n";
                return exit_unreachable;
            }
            auto wait = delays.next();
            std::cerr << "relay-cli: " << e.what() << "; retrying in " << wait.count() / 1000.0 << " s\n";
            std::this_thread::sleep_for(wait);
            continue;
        }
        delays.reset(); // reconnected: the next outage starts from a short delay again
        auto const& devices = socket->auth_ok().at("devices").as_array();
        if (only && std::none_of(devices.begin(), devices.end(),
                                 [&](auto const& d) { return field(d, "device_id") == *only; })) {
            std::cerr << "relay-cli: no device " << *only << " (or no access to it)\n";
            return exit_failed;
        }
        if (first) {
            // On stderr even with --json: a script knows from it that events are flowing.
            std::cerr << "watching " << (only ? *only : std::to_string(devices.size()) + " device(s)") << " on "
                      << context.relay.text << " (Ctrl-C to stop)" << std::endl;
            for (auto const& d : devices)
                if (!as_json && (!only || field(d, "device_id") == *only))
                    std::cerr << "  " << field(d, "device_id") << "  " << field(d, "name") << "  "
                              << (d.at("online") == true ? "online" : "offline") << "\n";
        }
        if (!first) {
            std::cerr << "relay-cli: reconnected\n";
            for (auto const& [device, seq] : last_seq)
                socket->send(json::object{{"type", "resume"}, {"device_id", device}, {"after_seq", seq}});
        }
        first = false;
        try {
            for (;;) {
                auto m = s.read(*socket, 60s);
                if (!m)
                    continue;
                auto type = type_of(*m);
                if (type == "event") {
                    auto device = field(*m, "device_id");
                    if (only && device != *only)
                        continue;
                    auto const& o = m->as_object();
                    if (auto* seq = o.if_contains("seq"); seq && seq->is_number()) {
                        auto n = seq->to_number<std::uint64_t>();
                        // Replayed after a reconnect and also seen live: print once.
                        if (last_seq.count(device) && n <= last_seq[device])
                            continue;
                        last_seq[device] = n;
                    }
                    std::cout << (as_json ? json::serialize(*m) : human_event(*m)) << std::endl;
                    if (o.contains("seq") && count && ++printed >= *count) {
                        socket->close();
                        return exit_ok;
                    }
                } else if (type == "resumed") {
                    if (m->at("complete") == false)
                        std::cerr << "relay-cli: the relay cannot replay everything " << field(*m, "device_id")
                                  << " sent while watch was disconnected (it restarted, or its buffer ran over);"
                                     " some events may be missing\n";
                } else if (type == "error") {
                    std::cerr << "relay-cli: relay error " << field(*m, "code") << ": " << field(*m, "message") << "\n";
                }
            }
        } catch (socket_closed const& e) {
            std::cerr << "relay-cli: the relay closed the connection (" << e.code << ": " << e.what() << ")\n";
            if (e.code == 4403)
                return exit_failed;
            // The token expired or its login ended: the reconnect refreshes first, which ends
            // watch with "log in again" when the login is over.
            token_refused = e.code == 4401;
        } catch (network_error const& e) {
            std::cerr << "relay-cli: " << e.what() << "\n";
        }
        if (a.has("--no-reconnect"))
            return exit_unreachable;
        auto wait = delays.next();
        std::cerr << "relay-cli: reconnecting in " << wait.count() / 1000.0 << " s\n";
        std::this_thread::sleep_for(wait);
    }
}

int cmd_send(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {"--timeout"}, {"--json", "--help"});
    if (a.has("--help")) {
        std::cout << send_help;
        return exit_ok;
    }
    if (a.positional.size() < 2 || a.positional.size() > 3)
        throw usage_error("send needs DEVICE COMMAND [JSON]");
    auto const& device = a.positional[0];
    require_device_id(device);
    auto const& command = a.positional[1];
    if (!protocol::is_valid_message_id(command))
        throw usage_error("'" + command + "' is not a command name");
    json::object message{{"type", "command"}, {"device_id", device}, {"id", make_message_id()}, {"command", command}};
    if (a.positional.size() == 3) {
        boost::system::error_code ec;
        auto data = json::parse(a.positional[2], ec);
        if (ec)
            throw usage_error("the command's data is not JSON: " + a.positional[2]);
        message["data"] = std::move(data);
    }
    auto timeout = std::chrono::milliseconds(
        static_cast<long long>(seconds_arg("--timeout", a.value("--timeout").value_or("30")) * 1000));
    std::string id(message.at("id").as_string());

    session s(context);
    auto socket = s.open_socket();
    socket->send(message);
    bool acked = false;
    auto deadline = clock::now() + timeout;
    try {
        while (clock::now() < deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            auto m = s.read(*socket, std::max(left, 1ms));
            if (!m)
                continue;
            auto type = type_of(*m);
            if (type == "ack" && field(*m, "ref") == id) {
                acked = true;
            } else if (type == "error" && field(*m, "ref") == id) {
                std::cerr << "relay-cli: " << field(*m, "code") << ": " << field(*m, "message") << "\n";
                return exit_failed;
            } else if (type == "command_result" && field(*m, "id") == id) {
                socket->close();
                auto const& o = m->as_object();
                bool ok = o.at("ok") == true;
                if (a.has("--json")) {
                    std::cout << json::serialize(*m) << "\n";
                } else if (ok) {
                    std::cout << (o.contains("data") ? pretty(o.at("data")) : "ok") << "\n";
                } else {
                    std::cerr << "relay-cli: " << device << " answered not ok"
                              << (o.contains("error") ? ": " + json::serialize(o.at("error")) : "") << "\n";
                }
                return ok ? exit_ok : exit_failed;
            }
        }
    } catch (socket_closed const& e) {
        std::cerr << "relay-cli: the relay closed the connection (" << e.code << ": " << e.what() << ")\n";
        return exit_unreachable;
    }
    std::cerr << "relay-cli: no answer from " << device << " within " << timeout.count() / 1000.0 << " s"
              << (acked ? " (the relay handed the command to the robot)" : " (not even an ack from the relay)") << "\n";
    return exit_unreachable;
}

namespace {

std::string candidate_summary(json::value const& candidate)
{
    // "candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> …"
    std::istringstream in(field(candidate, "candidate"));
    std::string foundation, component, proto, priority, address, port, typ, type;
    in >> foundation >> component >> proto >> priority >> address >> port >> typ >> type;
    if (typ != "typ")
        return field(candidate, "candidate");
    return type + " " + proto + " " + address + ":" + port;
}

} // namespace

int cmd_webrtc_probe(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {"--media", "--quality", "--wait"}, {"--help"});
    if (a.has("--help")) {
        std::cout << probe_help;
        return exit_ok;
    }
    if (a.positional.size() != 1)
        throw usage_error("webrtc-probe needs DEVICE");
    auto const& device = a.positional[0];
    require_device_id(device);
    auto media = a.value("--media").value_or("video");
    auto quality = a.value("--quality").value_or("auto");
    if (!protocol::from_string<protocol::media>(media))
        throw usage_error("--media is video, audio or both");
    if (!protocol::from_string<protocol::quality>(quality))
        throw usage_error("--quality is low, medium, high or auto");
    auto wait = std::chrono::milliseconds(static_cast<long long>(seconds_arg("--wait", a.value("--wait").value_or("10")) * 1000));

    session s(context);
    auto socket = s.open_socket();
    auto started = clock::now();
    auto say = [&](std::string const& line) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count();
        std::cout << "[" << std::setw(6) << ms << " ms] " << line << std::endl;
    };
    std::string id = make_message_id();
    socket->send(json::object{{"type", "webrtc_request"}, {"device_id", device}, {"id", id}, {"media", media}, {"quality", quality}});
    say("-> webrtc_request to " + device + " (media " + media + ", quality " + quality + ")");

    std::string session_id;
    bool offered = false, candidates_done = false;
    unsigned candidates = 0;
    auto deadline = clock::now() + wait;
    int status = exit_unreachable;
    try {
        while (clock::now() < deadline && !candidates_done) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            auto m = s.read(*socket, std::max(left, 1ms));
            if (!m)
                continue;
            auto type = type_of(*m);
            auto const& o = m->as_object();
            if (type == "error" && (field(*m, "ref") == id || field(*m, "ref").empty() || field(*m, "ref") == session_id)) {
                say("<- error " + field(*m, "code") + ": " + field(*m, "message"));
                status = exit_failed;
                break;
            }
            if (type == "webrtc_credentials" && session_id.empty()) {
                session_id = field(*m, "session_id");
                auto const& creds = o.at("credentials");
                std::string urls;
                std::size_t servers = 0;
                if (auto* list = creds.as_object().if_contains("ice_servers"); list && list->is_array()) {
                    servers = list->as_array().size();
                    for (auto const& server : list->as_array())
                        if (auto* u = server.as_object().if_contains("urls"); u && u->is_array())
                            for (auto const& url : u->as_array())
                                urls += (urls.empty() ? "" : ", ") + std::string(url.as_string());
                }
                say("<- webrtc_credentials: session " + session_id + ", " + std::to_string(servers) + " ICE server(s)" +
                    (urls.empty() ? " (no TURN/STUN configured)" : ": " + urls));
            } else if (type == "webrtc_offer" && field(*m, "session_id") == session_id) {
                offered = true;
                status = exit_ok;
                auto sdp = field(o.at("sdp"), "sdp");
                std::istringstream lines(sdp);
                std::string line, kinds;
                unsigned sections = 0, in_sdp = 0;
                while (std::getline(lines, line)) {
                    if (line.rfind("m=", 0) == 0) {
                        ++sections;
                        kinds += (kinds.empty() ? "" : ", ") + line.substr(2, line.find(' ') - 2);
                    } else if (line.rfind("a=candidate", 0) == 0) {
                        ++in_sdp;
                    }
                }
                say("<- webrtc_offer from the robot: " + std::to_string(sections) + " media section(s) (" + kinds + "), " +
                    std::to_string(in_sdp) + " candidate(s) in the SDP");
                deadline = clock::now() + wait; // now wait for trickled candidates
            } else if (type == "webrtc_ice" && field(*m, "session_id") == session_id) {
                if (o.at("candidate").is_null()) {
                    say("<- webrtc_ice: end of candidates");
                    candidates_done = true;
                } else {
                    ++candidates;
                    say("<- webrtc_ice: " + candidate_summary(o.at("candidate")));
                }
            } else if (type == "webrtc_close" && field(*m, "session_id") == session_id) {
                say("<- webrtc_close by " + field(*m, "by") + ": " + field(*m, "reason"));
                if (!offered)
                    status = exit_failed;
                session_id.clear();
                break;
            }
        }
        if (!session_id.empty()) {
            socket->send(json::object{{"type", "webrtc_close"}, {"session_id", session_id}, {"reason", "relay-cli probe finished"}});
            say("-> webrtc_close (probe finished)");
        }
        socket->close();
    } catch (socket_closed const& e) {
        say("the relay closed the connection (" + std::to_string(e.code) + ": " + e.what() + ")");
        return exit_unreachable;
    }
    if (status == exit_ok)
        std::cout << "signaling works: credentials, an offer and " << candidates << " trickled candidate(s)\n";
    else if (status == exit_unreachable)
        std::cout << (session_id.empty() ? "no answer from the relay" : "no offer from the robot") << " within "
                  << wait.count() / 1000.0 << " s\n";
    else
        std::cout << "signaling failed (see above)\n";
    return status;
}

} // namespace relay::cli
