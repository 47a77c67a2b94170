// The HTTP commands: devices, device add|share|rotate|set-key (and keygen, local), turn, rest.
#include "args.hpp"
#include "commands.hpp"
#include "output.hpp"

#include <relay/auth/device_key.hpp>
#include <relay/protocol/timestamp.hpp>
#include <relay/protocol/validation.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace relay::cli {
namespace {

namespace json = boost::json;

constexpr char const* devices_help = R"(usage: relay-cli devices [--json]

Lists every device you may access: id, name, your role, whether it is online, when it was
last seen and the capabilities it announced. --json prints the relay's answer as is.
)";

constexpr char const* device_help = R"(usage: relay-cli device add NAME [--id ID] [--public-key KEY|@FILE] [--json]
       relay-cli device share DEVICE EMAIL [--role viewer|operator]
       relay-cli device rotate DEVICE [--json]
       relay-cli device set-key DEVICE --public-key KEY|@FILE [--json]
       relay-cli device keygen [--out FILE] [--json]

add     creates a device you own and prints its secret, which is shown only this once;
        give it to the robot (RELAY_DEVICE_SECRET or robot-agent --secret-file). With
        --public-key the device authenticates with that Ed25519 key instead and has no secret:
        the relay stores only the public key. KEY is base64url (as keygen prints it); @FILE
        reads a PEM public key from FILE.
share   lets another user see the device (viewer, the default) or also command it (operator).
rotate  replaces the device secret (a key device goes back to a secret); a connected robot is
        disconnected until it has the new one.
set-key sets or replaces the device's public key and drops its secret; a connected robot is
        disconnected until it signs with the new key.
keygen  makes an Ed25519 key pair on this machine, without the relay: writes the private key
        (PKCS#8 PEM, mode 0600; an existing file is never overwritten) to FILE (default
        device-key.pem) and prints the public key (base64url) alone on stdout, for --public-key.
        The robot uses the file: robot-agent --key-file FILE.
)";

constexpr char const* turn_help = R"(usage: relay-cli turn DEVICE [--json]

Fetches TURN/STUN credentials for a WebRTC session with DEVICE (GET /api/turn/credentials).
)";

constexpr char const* rest_help = R"(usage: relay-cli rest DEVICE METHOD PATH [--data JSON|@FILE] [-H 'Name: value']...

Calls the robot's own REST API through the relay's tunnel
(METHOD /api/devices/DEVICE/rest/PATH), e.g. `relay-cli rest wimz-001 GET /status`.
The answer's body goes to stdout; its status, when not 2xx, to stderr.
Exit status 0 for a 2xx answer, 1 otherwise.
)";

void require_device_id(std::string const& id)
{
    if (!protocol::is_valid_device_id(id))
        throw usage_error("'" + id + "' is not a device id");
}

std::string seen_text(json::value const& v)
{
    if (v.is_string())
        return std::string(v.as_string());
    if (v.is_number()) {
        auto t = std::chrono::system_clock::time_point(std::chrono::seconds(v.to_number<std::int64_t>()));
        return protocol::format_timestamp(t);
    }
    return "never";
}

void print_table(std::vector<std::vector<std::string>> const& rows)
{
    std::vector<std::size_t> width;
    for (auto const& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            width.resize(std::max(width.size(), row.size()));
            width[i] = std::max(width[i], row[i].size());
        }
    for (auto const& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size())
                line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        std::cout << line << "\n";
    }
}

int refused(char const* what, http_answer const& answer)
{
    std::cerr << "relay-cli: " << what << ": " << answer.describe_error() << "\n";
    return exit_failed;
}

/** The text of --public-key: the value itself, or the contents of FILE for `@FILE`. The relay
 * checks the key; a text that is plainly none is refused here already, with the reason. */
std::string public_key_arg(std::string const& value)
{
    std::string text = value;
    if (!value.empty() && value[0] == '@') {
        std::ifstream in(value.substr(1), std::ios::binary);
        if (!in)
            throw usage_error("cannot read " + value.substr(1));
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    if (!auth::parse_device_public_key(text))
        throw usage_error("--public-key needs an Ed25519 public key: base64url of its 32 bytes (as `relay-cli device "
                          "keygen` prints it) or @FILE with a PEM public key");
    return text;
}

/** Creates `path` readable and writable by its owner only (0600) and writes `content`; an
 * existing file is never replaced. Throws std::runtime_error with the reason. */
void write_new_private_file(std::string const& path, std::string const& content)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::runtime_error(errno == EEXIST ? path + " already exists; it is not overwritten (a key in use "
                                                          "would be lost): choose another --out or remove it"
                                                 : "cannot create " + path + ": " + std::strerror(errno));
    bool ok = ::fchmod(fd, 0600) == 0; // whatever the umask, and never wider
    for (std::size_t done = 0; ok && done < content.size();) {
        auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            done += static_cast<std::size_t>(n);
    }
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        auto why = std::string(std::strerror(errno));
        ::unlink(path.c_str());
        throw std::runtime_error("cannot write " + path + ": " + why);
    }
}

int device_keygen(arg_list const& rest)
{
    auto a = parse_args(rest, {"--out"}, {"--json"});
    if (!a.positional.empty())
        throw usage_error("device keygen takes no arguments (--out FILE names the file)");
    auto const path = a.value("--out").value_or("device-key.pem");
    auto const key = auth::device_private_key::generate();
    auto const public_key = auth::device_public_key_text(key.public_key());
    try {
        write_new_private_file(path, key.to_pem());
    } catch (std::runtime_error const& e) {
        std::cerr << "relay-cli: " << e.what() << "\n";
        return exit_failed;
    }
    if (a.has("--json")) {
        std::cout << json::serialize(json::object{{"public_key", public_key}, {"key_file", path}}) << "\n";
        return exit_ok;
    }
    // The explanation on stderr, the key alone on stdout: $(relay-cli device keygen) captures it.
    std::cerr << "wrote the private key to " << path << " (mode 0600; keep it on the robot only).\n"
              << "Register the device with: relay-cli device add NAME --public-key <the key below>\n"
              << "and run the robot with:   robot-agent --key-file " << path << " ...\n";
    std::cout << public_key << "\n";
    return exit_ok;
}

int device_add(cli_context& context, arg_list const& rest)
{
    auto a = parse_args(rest, {"--id", "--public-key"}, {"--json"});
    if (a.positional.size() != 1)
        throw usage_error("device add needs a NAME");
    json::object body{{"name", a.positional[0]}};
    if (auto id = a.value("--id")) {
        require_device_id(*id);
        body["device_id"] = *id;
    }
    auto public_key = a.value("--public-key");
    if (public_key)
        body["public_key"] = public_key_arg(*public_key);
    session s(context);
    auto answer = s.call("POST", "/api/devices", json::serialize(body));
    if (answer.status != 201)
        return refused("creating the device failed", answer);
    auto j = answer.json();
    if (a.has("--json")) {
        std::cout << json::serialize(j) << "\n";
        return exit_ok;
    }
    if (public_key) {
        std::cout << "device:  " << field(j, "device_id") << "\n"
                  << "name:    " << field(j, "name") << "\n"
                  << "key:     " << field(j, "key_type") << " (the relay holds only the public key)\n\n"
                  << "On the robot, with the private key file from relay-cli device keygen:\n"
                  << "  robot-agent --relay " << context.relay.text << " --device-id " << field(j, "device_id")
                  << " --key-file device-key.pem\n";
        return exit_ok;
    }
    std::cout << "device:  " << field(j, "device_id") << "\n"
              << "name:    " << field(j, "name") << "\n"
              << "secret:  " << field(j, "device_secret") << "\n\n"
              << "The secret is shown only now. On the robot:\n"
              << "  RELAY_DEVICE_SECRET='" << field(j, "device_secret") << "' robot-agent --relay " << context.relay.text
              << " --device-id " << field(j, "device_id") << "\n";
    return exit_ok;
}

int device_share(cli_context& context, arg_list const& rest)
{
    auto a = parse_args(rest, {"--role"}, {});
    if (a.positional.size() != 2)
        throw usage_error("device share needs DEVICE and EMAIL");
    require_device_id(a.positional[0]);
    auto role = a.value("--role").value_or("viewer");
    if (role != "viewer" && role != "operator")
        throw usage_error("--role is viewer or operator");
    session s(context);
    auto answer = s.call("POST", "/api/devices/" + a.positional[0] + "/members",
                         json::serialize(json::object{{"email", a.positional[1]}, {"role", role}}));
    if (answer.status / 100 != 2)
        return refused("sharing failed", answer);
    std::cerr << a.positional[0] << " shared with " << a.positional[1] << " as " << role << "\n";
    return exit_ok;
}

int device_rotate(cli_context& context, arg_list const& rest)
{
    auto a = parse_args(rest, {}, {"--json"});
    if (a.positional.size() != 1)
        throw usage_error("device rotate needs DEVICE");
    require_device_id(a.positional[0]);
    session s(context);
    auto answer = s.call("POST", "/api/devices/" + a.positional[0] + "/secret", std::string("{}"));
    if (answer.status / 100 != 2)
        return refused("rotating the secret failed", answer);
    if (a.has("--json")) {
        std::cout << json::serialize(answer.json()) << "\n";
        return exit_ok;
    }
    std::cout << "new secret for " << a.positional[0] << ": " << field(answer.json(), "device_secret") << "\n"
              << "(shown only now; the robot must use it from its next connection)\n";
    return exit_ok;
}

int device_set_key(cli_context& context, arg_list const& rest)
{
    auto a = parse_args(rest, {"--public-key"}, {"--json"});
    if (a.positional.size() != 1 || !a.value("--public-key"))
        throw usage_error("device set-key needs DEVICE and --public-key");
    require_device_id(a.positional[0]);
    auto body = json::object{{"public_key", public_key_arg(*a.value("--public-key"))}};
    session s(context);
    auto answer = s.call("PUT", "/api/devices/" + a.positional[0] + "/key", json::serialize(body));
    if (answer.status / 100 != 2)
        return refused("setting the key failed", answer);
    if (a.has("--json")) {
        std::cout << json::serialize(answer.json()) << "\n";
        return exit_ok;
    }
    std::cout << a.positional[0] << " now authenticates with the key " << field(answer.json(), "public_key")
              << "; its secret no longer works\n";
    return exit_ok;
}

} // namespace

int cmd_devices(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {}, {"--json", "--help"});
    if (a.has("--help")) {
        std::cout << devices_help;
        return exit_ok;
    }
    if (!a.positional.empty())
        throw usage_error("devices takes no arguments");
    session s(context);
    auto answer = s.call("GET", "/api/devices");
    if (answer.status != 200 || !answer.json().is_array())
        return refused("listing devices failed", answer);
    auto list = answer.json();
    if (a.has("--json")) {
        std::cout << json::serialize(list) << "\n";
        return exit_ok;
    }
    if (list.as_array().empty()) {
        std::cerr << "no devices yet: relay-cli device add NAME\n";
        return exit_ok;
    }
    std::vector<std::vector<std::string>> rows{{"DEVICE", "NAME", "ROLE", "ONLINE", "LAST SEEN", "CAPABILITIES"}};
    for (auto const& d : list.as_array()) {
        auto const& o = d.as_object();
        auto online = o.contains("online") && o.at("online") == true;
        auto caps = o.contains("capabilities") ? o.at("capabilities") : json::value();
        rows.push_back({field(d, "device_id"), field(d, "name"), field(d, "role"), online ? "yes" : "no",
                        o.contains("last_seen") ? seen_text(o.at("last_seen")) : "never",
                        caps.is_null() || (caps.is_object() && caps.as_object().empty()) ? "-" : json::serialize(caps)});
    }
    print_table(rows);
    return exit_ok;
}

int cmd_device(cli_context& context, arg_list const& args)
{
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << device_help;
        return args.empty() ? exit_usage : exit_ok;
    }
    arg_list rest(args.begin() + 1, args.end());
    if (std::find(rest.begin(), rest.end(), "--help") != rest.end()) {
        std::cout << device_help;
        return exit_ok;
    }
    if (args[0] == "add")
        return device_add(context, rest);
    if (args[0] == "share")
        return device_share(context, rest);
    if (args[0] == "rotate")
        return device_rotate(context, rest);
    if (args[0] == "set-key")
        return device_set_key(context, rest);
    if (args[0] == "keygen")
        return device_keygen(rest);
    throw usage_error("unknown device command '" + args[0] + "' (add, share, rotate, set-key, keygen)");
}

int cmd_turn(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {}, {"--json", "--help"});
    if (a.has("--help")) {
        std::cout << turn_help;
        return exit_ok;
    }
    if (a.positional.size() != 1)
        throw usage_error("turn needs DEVICE");
    require_device_id(a.positional[0]);
    session s(context);
    auto answer = s.call("GET", "/api/turn/credentials?device_id=" + a.positional[0]);
    if (answer.status != 200 || !answer.json().is_object())
        return refused("the relay gave no TURN credentials", answer);
    auto creds = answer.json();
    if (a.has("--json")) {
        std::cout << json::serialize(creds) << "\n";
        return exit_ok;
    }
    auto const& o = creds.as_object();
    if (field(creds, "username").empty())
        std::cout << "no TURN server: the relay has no TURN provider configured (STUN servers, if any, follow)\n";
    else
        std::cout << "username:   " << field(creds, "username") << "\n"
                  << "credential: " << field(creds, "credential") << "\n";
    if (auto* ttl = o.if_contains("ttl"))
        std::cout << "ttl:        " << json::serialize(*ttl) << " s\n";
    if (auto* servers = o.if_contains("ice_servers"); servers && servers->is_array()) {
        std::cout << "ice servers:\n";
        for (auto const& server : servers->as_array())
            if (auto* urls = server.as_object().if_contains("urls"))
                for (auto const& url : urls->is_array() ? urls->as_array() : json::array{*urls})
                    std::cout << "  " << (url.is_string() ? std::string(url.as_string()) : json::serialize(url)) << "\n";
    }
    return exit_ok;
}

int cmd_rest(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {"--data", "-H", "--header"}, {"--help"});
    if (a.has("--help")) {
        std::cout << rest_help;
        return exit_ok;
    }
    if (a.positional.size() != 3)
        throw usage_error("rest needs DEVICE METHOD PATH");
    auto const& device = a.positional[0];
    require_device_id(device);
    std::string method = a.positional[1];
    std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (!protocol::is_valid_http_method(method))
        throw usage_error("'" + a.positional[1] + "' is not an HTTP method");
    auto path = a.positional[2];
    if (path.empty() || path[0] != '/')
        path = "/" + path;

    std::optional<std::string> body;
    if (auto data = a.value("--data")) {
        if (!data->empty() && (*data)[0] == '@') {
            std::ifstream in(data->substr(1), std::ios::binary);
            if (!in)
                throw usage_error("cannot read " + data->substr(1));
            std::stringstream ss;
            ss << in.rdbuf();
            body = ss.str();
        } else {
            body = *data;
        }
    }
    std::vector<std::pair<std::string, std::string>> headers;
    for (auto const* flag : {"-H", "--header"}) {
        auto it = a.values.find(flag);
        if (it == a.values.end())
            continue;
        for (auto const& h : it->second) {
            auto colon = h.find(':');
            if (colon == std::string::npos || colon == 0)
                throw usage_error("a header is 'Name: value', not '" + h + "'");
            auto value = h.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            headers.emplace_back(h.substr(0, colon), value);
        }
    }
    session s(context);
    auto answer = s.call(method, "/api/devices/" + device + "/rest" + path, body, headers);
    bool relay_error = !answer.error_code().empty() && answer.status / 100 != 2;
    if (relay_error)
        return refused("the tunnelled request failed", answer);
    std::cout << answer.body;
    if (!answer.body.empty() && answer.body.back() != '\n')
        std::cout << "\n";
    if (answer.status / 100 != 2) {
        std::cerr << "relay-cli: the robot answered HTTP " << answer.status << "\n";
        return exit_failed;
    }
    return exit_ok;
}

} // namespace relay::cli
