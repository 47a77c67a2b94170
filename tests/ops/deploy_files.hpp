#pragma once
// Reading the files in deploy/ the way systemd, relayd and nginx read them, enough for the tests
// to compare their numbers.
#include <map>
#include <string>
#include <vector>

namespace ops_test {

/** KEY=VALUE lines of a relay.conf / EnvironmentFile: '#' comments, optional quotes. */
std::map<std::string, std::string> config_values(std::string const& text);

/** The value of the first `Key=` line of a systemd unit; empty when absent. */
std::string unit_value(std::string const& unit, std::string const& key);

/** The arguments of the first `name …;` directive in `text`, e.g. "1m" for client_max_body_size. */
std::string nginx_directive(std::string const& text, std::string const& name);

/** The body of `location PATH { … }` (without nested blocks); empty when absent. */
std::string nginx_location(std::string const& site, std::string const& path);

/** The body of the first `location PATH { … }` that proxies (has proxy_pass): the 443 server's
 * `location /`, not the 301 of the port-80 one. Empty when absent. */
std::string nginx_proxy_location(std::string const& site, std::string const& path);

/** The first `server` line of the first upstream block: "127.0.0.1:8000". */
std::string nginx_upstream(std::string const& site);

/** The address of every `server` line of the first upstream block, in order, without their
 * parameters (max_fails=…): {"127.0.0.1:8001", "127.0.0.1:8002", …}. */
std::vector<std::string> nginx_upstream_servers(std::string const& site);

/** The body of the first upstream block (without comments); empty when absent. */
std::string nginx_upstream_block(std::string const& site);

/** An nginx size ("1m", "64k", "512") in bytes. */
long nginx_size(std::string const& value);

/** An nginx time ("120s", "2m", "90") in seconds. */
long nginx_seconds(std::string const& value);

} // namespace ops_test
