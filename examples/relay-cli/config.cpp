#include "config.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace relay::cli {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string string_field(json::object const& o, char const* key)
{
    if (auto* v = o.if_contains(key); v && v->is_string())
        return std::string(v->as_string());
    return {};
}

} // namespace

std::string default_config_path()
{
    if (auto* p = std::getenv("RELAY_CLI_CONFIG"); p && *p)
        return p;
    if (auto* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
        return std::string(x) + "/relay-cli/config.json";
    auto* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.config/relay-cli/config.json";
}

cli_config load_config(std::string const& path)
{
    cli_config config;
    config.path = path;
    std::ifstream in(path);
    if (!in)
        return config;
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto v = json::parse(text.str(), ec);
    if (ec || !v.is_object())
        throw std::runtime_error("the configuration file " + path + " is not valid JSON; fix or delete it");
    auto const& o = v.as_object();
    config.default_relay = string_field(o, "default_relay");
    if (auto* relays = o.if_contains("relays"); relays && relays->is_object()) {
        for (auto const& [url, entry] : relays->as_object()) {
            if (!entry.is_object())
                continue;
            auto const& e = entry.as_object();
            relay_tokens t;
            t.email = string_field(e, "email");
            t.access_token = string_field(e, "access_token");
            t.refresh_token = string_field(e, "refresh_token");
            if (auto* exp = e.if_contains("access_expires_at"); exp && exp->is_int64())
                t.access_expires_at = exp->as_int64();
            if (auto* ttl = e.if_contains("access_ttl"); ttl && ttl->is_int64())
                t.access_ttl = ttl->as_int64();
            config.relays[std::string(url)] = t;
        }
    }
    return config;
}

void save_config(cli_config const& config)
{
    json::object relays;
    for (auto const& [url, t] : config.relays)
        relays[url] = json::object{{"email", t.email},
                                   {"access_token", t.access_token},
                                   {"refresh_token", t.refresh_token},
                                   {"access_expires_at", t.access_expires_at},
                                   {"access_ttl", t.access_ttl}};
    json::object root{{"default_relay", config.default_relay}, {"relays", std::move(relays)}};
    std::string text = json::serialize(root) + "\n";

    fs::path path(config.path);
    if (path.has_parent_path()) {
        std::error_code ec;
        if (!fs::exists(path.parent_path(), ec)) {
            fs::create_directories(path.parent_path(), ec);
            if (ec)
                throw std::runtime_error("cannot create " + path.parent_path().string() + ": " + ec.message());
            ::chmod(path.parent_path().c_str(), 0700);
        }
    }
    // Created 0600 from the start: the tokens are never readable by others, not even briefly.
    std::string tmp = config.path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    ::fchmod(fd, 0600);
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    if (::rename(tmp.c_str(), config.path.c_str()) != 0)
        throw std::runtime_error("cannot replace " + config.path + ": " + std::strerror(errno));
}

} // namespace relay::cli
