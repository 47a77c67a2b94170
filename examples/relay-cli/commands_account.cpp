// login, register, logout: getting and dropping the tokens relay-cli stores per relay.
#include "args.hpp"
#include "commands.hpp"
#include "output.hpp"

#include <boost/json.hpp>

#include <iostream>

#include <termios.h>
#include <unistd.h>

namespace relay::cli {
namespace {

namespace json = boost::json;

constexpr char const* login_help = R"(usage: relay-cli [--relay URL] login [--email EMAIL] [--password-stdin]

Logs in and stores the tokens for this relay in the configuration file (mode 0600):
$RELAY_CLI_CONFIG, or ~/.config/relay-cli/config.json. The relay becomes the default for
later commands. The password is asked for on the terminal (not echoed), or read as one line
from stdin with --password-stdin (then --email is required).
)";

constexpr char const* register_help = R"(usage: relay-cli [--relay URL] register [--email EMAIL] [--password-stdin]

Creates an account (when the relay allows registration), then logs in as with `login`.
)";

constexpr char const* logout_help = R"(usage: relay-cli [--relay URL] logout

Ends the session on the relay and removes its tokens from the configuration file.
)";

std::string read_line(std::string const& what)
{
    std::string line;
    if (!std::getline(std::cin, line))
        throw usage_error("no " + what + " on stdin");
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

std::string prompt(std::string const& label)
{
    std::cerr << label << ": " << std::flush;
    return read_line(label);
}

std::string read_password(bool from_stdin)
{
    if (from_stdin || !::isatty(0))
        return read_line("password");
    // Echo off while the password is typed, restored whatever happens.
    termios old{};
    ::tcgetattr(0, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(0, TCSANOW, &quiet);
    std::cerr << "Password: " << std::flush;
    std::string password;
    bool got = static_cast<bool>(std::getline(std::cin, password));
    ::tcsetattr(0, TCSANOW, &old);
    std::cerr << "\n";
    if (!got)
        throw usage_error("no password given");
    return password;
}

std::pair<std::string, std::string> credentials(parsed_args const& a)
{
    bool from_stdin = a.has("--password-stdin");
    auto email = a.value("--email");
    if (!email) {
        if (from_stdin)
            throw usage_error("--password-stdin needs --email");
        email = prompt("Email");
    }
    return {*email, read_password(from_stdin)};
}

int login_with(cli_context& context, std::string const& email, std::string const& password)
{
    auto body = json::serialize(json::object{{"email", email}, {"password", password}});
    auto answer = http_request(context.relay, "POST", "/api/auth/login", body, {}, context.timeout);
    if (answer.status == 200) {
        store_tokens(context, email, answer.json());
        std::cerr << "logged in to " << context.relay.text << " as " << email << "\n";
        return exit_ok;
    }
    if (answer.status == 401)
        std::cerr << "relay-cli: wrong email or password\n";
    else if (answer.status == 429)
        std::cerr << "relay-cli: too many attempts; try again in "
                  << (answer.headers.count("retry-after") ? answer.headers.at("retry-after") : "a while") << " s\n";
    else
        std::cerr << "relay-cli: login refused: " << answer.describe_error() << "\n";
    return exit_failed;
}

} // namespace

int cmd_login(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {"--email"}, {"--password-stdin", "--help"});
    if (a.has("--help")) {
        std::cout << login_help;
        return exit_ok;
    }
    if (!a.positional.empty())
        throw usage_error("login takes no arguments");
    auto [email, password] = credentials(a);
    return login_with(context, email, password);
}

int cmd_register(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {"--email"}, {"--password-stdin", "--help"});
    if (a.has("--help")) {
        std::cout << register_help;
        return exit_ok;
    }
    if (!a.positional.empty())
        throw usage_error("register takes no arguments");
    auto [email, password] = credentials(a);
    auto body = json::serialize(json::object{{"email", email}, {"password", password}});
    auto answer = http_request(context.relay, "POST", "/api/auth/register", body, {}, context.timeout);
    if (answer.status != 201) {
        std::cerr << "relay-cli: registration refused: " << answer.describe_error() << "\n";
        return exit_failed;
    }
    std::cerr << "registered " << email << " (user " << field(answer.json(), "user_id") << ")\n";
    return login_with(context, email, password);
}

int cmd_logout(cli_context& context, arg_list const& args)
{
    auto a = parse_args(args, {}, {"--help"});
    if (a.has("--help")) {
        std::cout << logout_help;
        return exit_ok;
    }
    auto it = context.config.relays.find(context.relay.text);
    if (it == context.config.relays.end()) {
        std::cerr << "relay-cli: not logged in to " << context.relay.text << "\n";
        return exit_ok;
    }
    auto body = json::serialize(json::object{{"refresh_token", it->second.refresh_token}});
    // The tokens are forgotten here even when the relay cannot be told.
    std::string warning;
    try {
        auto answer = http_request(context.relay, "POST", "/api/auth/logout", body, {}, context.timeout);
        if (answer.status / 100 != 2)
            warning = answer.describe_error();
    } catch (network_error const& e) {
        warning = e.what();
    }
    context.config.relays.erase(it);
    save_config(context.config);
    if (!warning.empty())
        std::cerr << "relay-cli: the relay was not told (" << warning << "); tokens removed locally\n";
    std::cerr << "logged out of " << context.relay.text << "\n";
    return exit_ok;
}

} // namespace relay::cli
