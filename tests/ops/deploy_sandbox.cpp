#include "deploy_sandbox.hpp"

#include "deploy_processes.hpp"
#include "support/tools.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <filesystem>
#include <stdexcept>

namespace ops_test {

using relay::test::require_program;
namespace {

namespace fs = std::filesystem;

// Host paths a deployment writes or reads, and so the sandbox replaces.
constexpr char const* sandboxed_prefixes[] = {
    "/etc/", "/usr/local/", "/var/www/", "/var/log/", "/var/lib/relay", "/var/lib/private/relay", "/var/backups/",
};

// Programs that would change the machine or need the Internet: they only record their arguments.
constexpr char const* recording_shims[] = {
    "apt-get", "systemctl", "certbot", "ufw", "systemd-analyze", "nginx",
};

// Directories that the packages the doc installs (nginx, certbot, systemd) would have created.
constexpr char const* package_directories[] = {
    "/etc/nginx/sites-available", "/etc/nginx/sites-enabled", "/etc/systemd/system",
    "/etc/letsencrypt/live", "/etc/letsencrypt/renewal-hooks/deploy", "/var/www/html", "/var/log/nginx",
    "/usr/local/bin",
};

// Variables the blocks hand on to later blocks and to the test.
constexpr char const* carried_variables = "PASSWORD ACCESS DEVICE DEVICE_ID DEVICE_SECRET CREDS TURN_SECRET";

bool path_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-';
}

std::string shell_quote(std::string const& s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

} // namespace

std::string source_file(std::string const& relative)
{
    return std::string(RELAY_TEST_SOURCE_DIR) + "/" + relative;
}

std::string doc_block(std::string const& name)
{
    auto doc = read_text(source_file("docs/deploy.md"));
    auto marker = "<!-- deploy-test: " + name + " -->";
    auto at = doc.find(marker);
    if (at == std::string::npos)
        throw std::runtime_error("docs/deploy.md has no block marked " + marker);
    auto fence = doc.find("```sh\n", at);
    // The block must follow its marker directly, so a marker cannot drift to another block.
    if (fence == std::string::npos || doc.find_first_not_of(" \n", at + marker.size()) != fence)
        throw std::runtime_error("docs/deploy.md: " + marker + " is not followed by a ```sh block");
    auto begin = fence + 6;
    auto end = doc.find("\n```", begin);
    if (end == std::string::npos)
        throw std::runtime_error("docs/deploy.md: the block after " + marker + " is not closed");
    return doc.substr(begin, end + 1 - begin);
}

deploy_sandbox::deploy_sandbox() : root_(dir_.path())
{
    // nginx's workers (www-data or nobody when the test runs as root) must reach the web root.
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    for (auto const* d : package_directories)
        fs::create_directories(path(d));
    for (auto const* d : {"/shims", "/home", "/state", "/scripts"})
        fs::create_directories(root_ + d);
    for (auto const* program : recording_shims)
        add_shim(program, "echo \"" + std::string(program) + " $*\" >> " + shell_quote(root_ + "/commands.log") + "\n");
    add_shim("sudo", "exec \"$@\"\n");
    // `cmake --install build` installs the tree the tests were built in, into the sandbox's
    // /usr/local; other cmake commands (configure, build) were done by the test's own build.
    auto cmake = require_program("cmake", "cmake");
    add_shim("cmake", "echo \"cmake $*\" >> " + shell_quote(root_ + "/commands.log") +
                          "\n"
                          "if [ \"$1\" = --install ]; then\n"
                          "  shift 2\n"
                          "  exec " + shell_quote(cmake) + " --install " + shell_quote(RELAY_TEST_BINARY_DIR) +
                          " --prefix " + shell_quote(path("/usr/local")) + " \"$@\"\n"
                          "fi\n");
    write_text(root_ + "/home/.curlrc", "");
}

std::string deploy_sandbox::path(std::string const& host_path) const
{
    return root_ + host_path;
}

std::string deploy_sandbox::map(std::string const& text) const
{
    std::string out;
    out.reserve(text.size() + 256);
    for (std::size_t i = 0; i < text.size();) {
        bool mapped = false;
        if (text[i] == '/' && (i == 0 || !path_char(text[i - 1]))) {
            for (std::string_view prefix : sandboxed_prefixes) {
                if (text.compare(i, prefix.size(), prefix) == 0) {
                    out += root_;
                    out += prefix;
                    i += prefix.size();
                    mapped = true;
                    break;
                }
            }
        }
        if (!mapped)
            out += text[i++];
    }
    return out;
}

script_result deploy_sandbox::run_block(std::string const& name)
{
    return run_script(name, map(doc_block(name)));
}

script_result deploy_sandbox::run_shell(std::string const& script)
{
    static int counter = 0;
    return run_script("shell-" + std::to_string(++counter), script);
}

script_result deploy_sandbox::run_script(std::string const& name, std::string const& body)
{
    auto const state = root_ + "/state";
    std::string script = "set -euo pipefail\n"
                         "export PATH=" + shell_quote(root_ + "/shims") + ":" + shell_quote(path("/usr/local/bin")) + ":\"$PATH\"\n"
                         "export HOME=" + shell_quote(root_ + "/home") + " CURL_HOME=" + shell_quote(root_ + "/home") + "\n"
                         "DOMAIN=" + domain + "\n"
                         "EMAIL=" + email + "\n"
                         "if [ -f " + shell_quote(state + "/variables.sh") + " ]; then . " + shell_quote(state + "/variables.sh") + "; fi\n"
                         "cd " + shell_quote(RELAY_TEST_SOURCE_DIR) + "\n"
                         "# ---- " + name + "\n" + body +
                         "\n# ---- carried on to the next blocks\n"
                         "for v in " + carried_variables + "; do\n"
                         "  if [ -n \"${!v+x}\" ]; then declare -p \"$v\"; printf %s \"${!v}\" > " + shell_quote(state) + "/\"$v\"; fi\n"
                         "done > " + shell_quote(state + "/variables.new") + "\n"
                         "mv " + shell_quote(state + "/variables.new") + " " + shell_quote(state + "/variables.sh") + "\n";
    auto file = root_ + "/scripts/" + name + ".sh";
    write_text(file, script);
    auto [status, output] = run_program({require_program("bash", "bash"), file}, std::chrono::seconds(300));
    return {status, output};
}

std::string deploy_sandbox::variable(std::string const& name) const
{
    return read_text(root_ + "/state/" + name);
}

std::string deploy_sandbox::recorded_commands() const
{
    return read_text(root_ + "/commands.log");
}

void deploy_sandbox::add_curl_option(std::string const& line)
{
    auto rc = read_text(root_ + "/home/.curlrc");
    write_text(root_ + "/home/.curlrc", rc + line + "\n");
}

void deploy_sandbox::add_shim(std::string const& program, std::string const& body)
{
    auto file = root_ + "/shims/" + program;
    write_text(file, "#!/bin/sh\n" + body);
    fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

std::string replace_required(std::string text, std::string const& from, std::string const& to)
{
    auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "expected '" << from << "' in the nginx site");
    while (at != std::string::npos) {
        text.replace(at, from.size(), to);
        at = text.find(from, at + to.size());
    }
    return text;
}

std::string make_certificate(deploy_sandbox& sb)
{
    auto live = sb.path(std::string("/etc/letsencrypt/live/") + deploy_sandbox::domain);
    fs::create_directories(live);
    auto pki = sb.path("/pki");
    fs::create_directories(pki);
    auto r = sb.run_shell("cd '" + pki + "'\n"
                          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                          "-keyout ca.key -out ca.pem -subj '/CN=relay ops test CA' 2>&1\n"
                          "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                          "-keyout server.key -out server.csr -subj '/CN=" + std::string(deploy_sandbox::domain) + "' 2>&1\n"
                          "printf 'subjectAltName=DNS:" + std::string(deploy_sandbox::domain) + ",IP:127.0.0.1\\n"
                          "basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > server.ext\n"
                          "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
                          "-extfile server.ext -out server.pem 2>&1\n"
                          "cat server.pem ca.pem > '" + live + "/fullchain.pem'\n"
                          "install -m 0600 server.key '" + live + "/privkey.pem'\n");
    INFO(r.output);
    REQUIRE(r.status == 0);
    return pki + "/ca.pem";
}

std::string nginx_main_conf(std::string const& prefix, std::string const& sites_dir)
{
    return "worker_processes 1;\n"
           "daemon off;\n"
           "pid " + prefix + "/nginx.pid;\n"
           "error_log " + prefix + "/error.log info;\n"
           "events { worker_connections 256; }\n"
           "http {\n"
           "    access_log " + prefix + "/access.log;\n"
           "    client_body_temp_path " + prefix + "/client_body;\n"
           "    proxy_temp_path " + prefix + "/proxy;\n"
           "    fastcgi_temp_path " + prefix + "/fastcgi;\n"
           "    uwsgi_temp_path " + prefix + "/uwsgi;\n"
           "    scgi_temp_path " + prefix + "/scgi;\n"
           "    include " + sites_dir + "/*.conf;\n"
           "}\n";
}

} // namespace ops_test
