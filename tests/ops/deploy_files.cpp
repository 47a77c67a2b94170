#include "deploy_files.hpp"

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace ops_test {
namespace {

std::string trim(std::string s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

/** `text` without nginx comments (from '#' to the end of the line). */
std::string strip_nginx_comments(std::string const& text)
{
    std::string out;
    bool comment = false;
    for (char c : text) {
        if (c == '#') comment = true;
        if (c == '\n') comment = false;
        if (!comment) out += c;
    }
    return out;
}

long number_with_unit(std::string const& value, std::map<char, long> const& units)
{
    if (value.empty())
        throw std::runtime_error("empty nginx value");
    std::size_t used = 0;
    long n = std::stol(value, &used);
    if (used == value.size())
        return n * units.at('\0');
    auto unit = static_cast<char>(std::tolower(static_cast<unsigned char>(value[used])));
    if (used + 1 != value.size() || !units.count(unit))
        throw std::runtime_error("unexpected nginx value " + value);
    return n * units.at(unit);
}

} // namespace

std::map<std::string, std::string> config_values(std::string const& text)
{
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        auto value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        out[trim(line.substr(0, eq))] = value;
    }
    return out;
}

std::string unit_value(std::string const& unit, std::string const& key)
{
    std::istringstream in(unit);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key + "="))
            return trim(line.substr(key.size() + 1));
    return {};
}

std::string nginx_directive(std::string const& text, std::string const& name)
{
    std::istringstream in(strip_nginx_comments(text));
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.starts_with(name + " ") && line.ends_with(";"))
            return trim(line.substr(name.size(), line.size() - name.size() - 1));
    }
    return {};
}

std::string nginx_location(std::string const& site, std::string const& path)
{
    auto text = strip_nginx_comments(site);
    auto at = text.find("location " + path + " {");
    if (at == std::string::npos)
        return {};
    auto open = text.find('{', at);
    auto close = text.find('}', open);
    return text.substr(open + 1, close - open - 1);
}

std::string nginx_proxy_location(std::string const& site, std::string const& path)
{
    auto text = strip_nginx_comments(site);
    auto marker = "location " + path + " {";
    for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
        auto open = text.find('{', at);
        auto body = text.substr(open + 1, text.find('}', open) - open - 1);
        if (body.find("proxy_pass ") != std::string::npos)
            return body;
    }
    return {};
}

std::string nginx_upstream_block(std::string const& site)
{
    auto text = strip_nginx_comments(site);
    auto at = text.find("upstream ");
    if (at == std::string::npos)
        return {};
    auto open = text.find('{', at);
    auto close = text.find('}', open);
    return text.substr(open + 1, close - open - 1);
}

std::string nginx_upstream(std::string const& site)
{
    auto servers = nginx_upstream_servers(site);
    return servers.empty() ? std::string() : servers.front();
}

std::vector<std::string> nginx_upstream_servers(std::string const& site)
{
    std::vector<std::string> out;
    std::istringstream in(nginx_upstream_block(site));
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (!line.starts_with("server ") || !line.ends_with(";"))
            continue;
        std::istringstream words(line.substr(7, line.size() - 8));
        std::string address;
        words >> address;
        out.push_back(address);
    }
    return out;
}

long nginx_size(std::string const& value)
{
    return number_with_unit(value, {{'\0', 1}, {'k', 1024}, {'m', 1024 * 1024}, {'g', 1024L * 1024 * 1024}});
}

long nginx_seconds(std::string const& value)
{
    return number_with_unit(value, {{'\0', 1}, {'s', 1}, {'m', 60}, {'h', 3600}});
}

} // namespace ops_test
