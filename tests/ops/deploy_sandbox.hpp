#pragma once
// Runs docs/deploy.md's commands word for word on the test machine without touching it: the
// paths a deployment writes (/etc, /usr/local, /var/www, /var/log, /var/lib/relay, …) point into a
// temporary directory, and programs that would change the machine or need the Internet
// (systemctl, apt-get, certbot, ufw, …) are shims that record what they were asked.
#include "support/relayd_process.hpp"

#include <map>
#include <string>
#include <vector>

namespace ops_test {

/** The ```sh block that follows `<!-- deploy-test: NAME -->` in docs/deploy.md; throws if absent. */
std::string doc_block(std::string const& name);

/** A file of the source tree, e.g. "deploy/relayd.service". */
std::string source_file(std::string const& relative);

struct script_result {
    int status = -1; ///< exit status; -1 when it timed out
    std::string output;
};

class deploy_sandbox {
public:
    /** DOMAIN the blocks see: a name no resolver knows, reached through curl's connect-to. */
    static constexpr char const* domain = "relay.test";
    static constexpr char const* email = "ops@relay.test";

    deploy_sandbox();

    /** The sandbox's stand-in for an absolute path of the host, e.g. path("/etc/relay"). */
    std::string path(std::string const& host_path) const;

    /** `text` with every sandboxed host path rewritten to the sandbox. */
    std::string map(std::string const& text) const;

    /** Runs the doc block `name` (mapped) in bash with `set -euo pipefail`, from the source tree,
     * with the shims first on PATH and the variables earlier blocks set. */
    script_result run_block(std::string const& name);

    /** Runs a script of the test's own in the same environment (nothing is mapped). */
    script_result run_shell(std::string const& script);

    /** A variable a block set (PASSWORD, ACCESS, DEVICE_ID, DEVICE_SECRET, CREDS, TURN_SECRET…). */
    std::string variable(std::string const& name) const;

    /** Everything the recording shims were asked, one command per line ("systemctl reload nginx"). */
    std::string recorded_commands() const;

    /** Adds a line to the sandbox's ~/.curlrc (connect-to, cacert). */
    void add_curl_option(std::string const& line);

    /** Replaces a program for the blocks with a shell script (its body after #!/bin/sh). */
    void add_shim(std::string const& program, std::string const& body);

private:
    script_result run_script(std::string const& name, std::string const& body);

    relay::test::temp_dir dir_;
    std::string root_;
};

/** Replaces every `from` in `text`; the running test fails (doctest REQUIRE) when there is none,
 * so that a changed site is noticed. */
std::string replace_required(std::string text, std::string const& from, std::string const& to);

/** What certbot would leave in the sandbox's /etc/letsencrypt/live/relay.test: a certificate
 * for the domain (and 127.0.0.1) signed by a CA the test makes. Returns the CA's certificate. */
std::string make_certificate(deploy_sandbox& sb);

/** An nginx main configuration for the test: the site files of `sites_dir`, everything nginx
 * writes in `prefix`. Stands in for Debian's /etc/nginx/nginx.conf, which includes
 * sites-enabled/ inside http {}. */
std::string nginx_main_conf(std::string const& prefix, std::string const& sites_dir);

} // namespace ops_test
