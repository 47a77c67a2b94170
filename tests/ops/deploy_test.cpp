// docs/deploy.md followed word for word on this machine, as far as it allows (issue 8): the
// doc's marked blocks run in a sandbox (deploy_sandbox.hpp) and everything they set up runs for
// real on loopback — relayd as relayd.service starts it, nginx with the site as step 7 installs
// it (a test CA stands in for Let's Encrypt), coturn with the turnserver.conf of step 8 — then
// step 9's checks, WebSockets through nginx, and a graceful stop.
#include "deploy_files.hpp"
#include "deploy_sandbox.hpp"
#include "deploy_processes.hpp"
#include "support/tools.hpp"
#include "wss_client.hpp"

#include <relay/auth/device_auth.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <regex>
#include <sstream>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ops_test;
using relay::test::require_program;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

bool contains(std::string const& text, std::string const& part)
{
    return text.find(part) != std::string::npos;
}

std::vector<std::string> split_words(std::string const& text)
{
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

std::vector<std::string> lines_of(std::string const& text)
{
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

bool is_hex(std::string const& s, std::size_t size)
{
    return s.size() == size && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

/** Reads events until one named `name` arrives (presence events of earlier robots may come first). */
json::value expect_event(wss_client& client, std::string const& name)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        auto e = client.expect("event", std::chrono::seconds(15));
        if (!e.is_object())
            break;
        if (e.at("event").as_string() == name)
            return e;
    }
    return {};
}

/** Every line relayd logged is one JSON object with a level and an event. */
void check_json_logs(std::string const& output)
{
    int lines = 0;
    for (auto const& line : lines_of(output)) {
        if (line.empty()) continue;
        ++lines;
        CAPTURE(line);
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        REQUIRE_FALSE(ec);
        REQUIRE(v.is_object());
        CHECK(v.as_object().contains("ts"));
        CHECK(v.as_object().contains("level"));
        CHECK(v.as_object().contains("event"));
    }
    CHECK(lines > 3);
}

} // namespace

TEST_CASE("docs/deploy.md, steps 2 to 9, word for word on this machine")
{
    auto const nginx = require_program("nginx", "nginx");
    auto const analyze = require_program("systemd-analyze", "systemd");
    auto const turnserver = require_program("turnserver", "coturn");
    auto const uclient = require_program("turnutils_uclient", "coturn");
    // Step 8 runs as root and gives coturn's group its certificate, as the doc does; CI runs the
    // suite as root, and the coturn package makes the group.
    REQUIRE_MESSAGE(::geteuid() == 0, "docs/deploy.md step 8 (coturn) needs root: run the ops tests as root, as CI does");
    REQUIRE_MESSAGE(::getgrnam("turnserver"), "the turnserver group is missing: apt-get install coturn makes it");
    deploy_sandbox sb;
    auto const domain = std::string(deploy_sandbox::domain);

    // ---- Step 2: cmake --install puts relayd where relayd.service starts it.
    auto const install = sb.run_block("install");
    INFO("install: " << install.output);
    REQUIRE(install.status == 0);
    CHECK(contains(install.output, "relayd "));
    CHECK(contains(sb.recorded_commands(), "cmake --install build"));
    auto const unit_text = read_text(source_file("deploy/relayd.service"));
    auto exec_start = split_words(unit_value(unit_text, "ExecStart"));
    REQUIRE(exec_start.size() >= 2);
    CHECK(exec_start[0] == "/usr/local/bin/relayd");
    auto const relayd_bin = sb.map(exec_start[0]);
    REQUIRE_MESSAGE(::access(relayd_bin.c_str(), X_OK) == 0, relayd_bin << " was not installed");

    // ---- Step 3: the configuration, secrets filled in.
    auto const config_run = sb.run_block("config");
    INFO("config: " << config_run.output);
    REQUIRE(config_run.status == 0);
    auto const conf_path = sb.path("/etc/relay/relay.conf");
    auto const conf_text = read_text(conf_path);
    auto conf = config_values(conf_text);
    for (auto const& [key, value] : conf) {
        CAPTURE(key);
        CHECK(value != "CHANGE-ME");
    }
    CHECK_FALSE(contains(conf_text, "relay.example.com"));
    struct stat st{};
    REQUIRE(::stat(conf_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(is_hex(conf["RELAY_JWT_SECRET"], 64));
    CHECK(is_hex(conf["RELAY_SECRET_KEY"], 64));
    CHECK(is_hex(conf["RELAY_TURN_SECRET"], 64));
    CHECK(conf["RELAY_JWT_SECRET"] != conf["RELAY_SECRET_KEY"]);
    CHECK(conf["RELAY_TURN_SECRET"] != conf["RELAY_JWT_SECRET"]);
    CHECK(contains(conf["RELAY_TURN_URLS"], "turn:" + domain + ":3478"));

    // ---- Step 4: relayd as systemd would start it. LoadCredential copies the file into the
    // credentials directory (%d); EnvironmentFile puts the same settings in the environment.
    // Only the port and the database path differ from the host (and the TURN probe, below), given
    // as flags (which win).
    auto credentials = sb.path("/run/credentials/relayd.service");
    fs::create_directories(credentials);
    auto load_credential = unit_value(unit_text, "LoadCredential");
    auto colon = load_credential.find(':');
    REQUIRE(colon != std::string::npos);
    fs::copy_file(sb.map(load_credential.substr(colon + 1)), credentials + "/" + load_credential.substr(0, colon));
    std::vector<std::string> relayd_argv{relayd_bin};
    for (std::size_t i = 1; i < exec_start.size(); ++i)
        relayd_argv.push_back(std::regex_replace(exec_start[i], std::regex("%d"), credentials));
    auto const relay_port = free_loopback_port();
    fs::create_directories(sb.path("/var/lib/relay"));
    relayd_argv.insert(relayd_argv.end(), {"--port", std::to_string(relay_port), "--database",
                                           sb.map("/var/lib/relay/relay.db")});
    // No resolver knows relay.test: the TURN self-probe would find every TURN URL unresolvable
    // and keep /health at 503, which step 9 checks. tests/turn/turn_probe_test.cpp covers it.
    relayd_argv.insert(relayd_argv.end(), {"--turn-probe-interval", "0"});
    auto relayd_env = config_values(read_text(sb.map(unit_value(unit_text, "EnvironmentFile"))));
    relayd_env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    child_process relayd(relayd_argv, sb.path("/relayd.log"), relayd_env);
    REQUIRE_MESSAGE(wait_listening(relay_port, std::chrono::seconds(30)), "relayd did not start:\n" << relayd.output());

    sb.add_curl_option("connect-to = 127.0.0.1:8000:127.0.0.1:" + std::to_string(relay_port));
    auto const unit_run = sb.run_block("unit");
    INFO("unit: " << unit_run.output);
    REQUIRE(unit_run.status == 0);
    CHECK(contains(unit_run.output, R"("status":"ok")"));
    auto const installed_unit = sb.path("/etc/systemd/system/relayd.service");
    CHECK(read_text(installed_unit) == unit_text);
    CHECK(contains(sb.recorded_commands(), "systemd-analyze verify " + installed_unit));
    CHECK(contains(sb.recorded_commands(), "systemctl enable --now relayd"));

    {
        // The unit as installed, its paths pointing into the sandbox (ExecStart must exist).
        fs::create_directories(sb.path("/verify"));
        auto unit_copy = sb.path("/verify/relayd.service");
        write_text(unit_copy, sb.map(read_text(installed_unit)));
        auto [status, output] = run_program({analyze, "verify", unit_copy});
        CAPTURE(output);
        CHECK(status == 0);
        // Complaints about other units of this machine are not ours; any about this one are.
        for (auto const& line : lines_of(output)) {
            CAPTURE(line);
            CHECK_FALSE(contains(line, "relayd.service"));
        }
        // Exposure 0.0 (locked down) to 10.0 (wide open); the unit scores about 1.2.
        auto [sec_status, sec_output] = run_program({analyze, "security", "--offline=true", "--threshold=20", unit_copy});
        CAPTURE(sec_output);
        CHECK(sec_status == 0);
    }

    // ---- Step 6 (what certbot leaves) and step 7: the nginx site.
    auto const ca = make_certificate(sb);
    auto const nginx_run = sb.run_block("nginx");
    INFO("nginx: " << nginx_run.output);
    REQUIRE(nginx_run.status == 0);
    CHECK(contains(sb.recorded_commands(), "nginx -t"));
    CHECK(contains(sb.recorded_commands(), "systemctl reload nginx"));
    auto const enabled = sb.path("/etc/nginx/sites-enabled/relay.conf");
    CHECK(fs::is_symlink(enabled));
    auto const site = read_text(enabled);
    CHECK(contains(site, "server_name " + domain + ";"));
    CHECK_FALSE(contains(site, "example.com"));

    // nginx -t on every site the doc left enabled, paths pointing into the sandbox.
    {
        auto prefix = sb.path("/nginx-check");
        fs::create_directories(prefix + "/sites");
        for (auto const& entry : fs::directory_iterator(sb.path("/etc/nginx/sites-enabled")))
            write_text(prefix + "/sites/" + entry.path().filename().string() + ".conf",
                       sb.map(read_text(entry.path().string())));
        write_text(prefix + "/nginx.conf", nginx_main_conf(prefix, prefix + "/sites"));
        auto [status, output] = run_program({nginx, "-t", "-c", prefix + "/nginx.conf", "-p", prefix + "/",
                                             "-e", prefix + "/error.log"});
        INFO("nginx -t: " << output);
        REQUIRE(status == 0);
        CHECK(contains(output, "test is successful"));
    }

    // The same site for real, in front of relayd, on loopback ports.
    auto const http_port = free_loopback_port();
    auto const https_port = free_loopback_port();
    auto prefix = sb.path("/nginx-run");
    fs::create_directories(prefix + "/sites");
    auto runtime_site = sb.map(site);
    runtime_site = replace_required(runtime_site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
    runtime_site = replace_required(runtime_site, "listen [::]:80;", "");
    runtime_site = replace_required(runtime_site, "listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(https_port) + " ssl;");
    runtime_site = replace_required(runtime_site, "listen [::]:443 ssl;", "");
    runtime_site = replace_required(runtime_site, "server 127.0.0.1:8000;", "server 127.0.0.1:" + std::to_string(relay_port) + ";");
    write_text(prefix + "/sites/relay.conf", runtime_site);
    write_text(prefix + "/nginx.conf", nginx_main_conf(prefix, prefix + "/sites"));
    child_process nginx_server({nginx, "-c", prefix + "/nginx.conf", "-p", prefix + "/", "-e", prefix + "/error.log"},
                               prefix + "/stdout.log");
    bool const nginx_listening =
        wait_listening(https_port, std::chrono::seconds(20)) && wait_listening(http_port, std::chrono::seconds(5));
    REQUIRE_MESSAGE(nginx_listening, "nginx did not start:\n" << nginx_server.output() << read_text(prefix + "/error.log"));
    // No resolver knows relay.test: curl is pointed at nginx with connect-to (the name, SNI and
    // certificate check stay relay.test); relay-cli and robot-agent, which have no such option,
    // get https://127.0.0.1:port (the certificate names 127.0.0.1 too) and the test CA.
    sb.add_curl_option("cacert = " + ca);
    sb.add_curl_option("connect-to = " + domain + ":443:127.0.0.1:" + std::to_string(https_port));
    sb.add_curl_option("connect-to = " + domain + ":80:127.0.0.1:" + std::to_string(http_port));
    for (auto const* program : {"relay-cli", "robot-agent"})
        sb.add_shim(program, "n=$#\n"
                             "for a in \"$@\"; do\n"
                             "  case \"$a\" in https://" + domain + "*) a=\"https://127.0.0.1:" + std::to_string(https_port) +
                                 "${a#https://" + domain + "}\";; esac\n"
                             "  set -- \"$@\" \"$a\"\n"
                             "done\n"
                             "shift $n\n"
                             "exec '" + sb.path(std::string("/usr/local/bin/") + program) + "' --ca-file '" + ca + "' \"$@\"\n");

    // ---- Step 8: coturn with the doc's /etc/turnserver.conf.
    std::optional<child_process> coturn;
    std::uint16_t turn_port = 0;
    {
        auto const coturn_run = sb.run_block("coturn");
        INFO("coturn: " << coturn_run.output);
        REQUIRE(coturn_run.status == 0);
        auto turn_conf = config_values(read_text(sb.path("/etc/turnserver.conf")));
        CHECK(turn_conf["static-auth-secret"] == conf["RELAY_TURN_SECRET"]);
        CHECK(turn_conf["realm"] == domain);
        CHECK(contains(read_text(sb.path("/etc/turnserver.conf")), "\nuse-auth-secret\n"));
        CHECK(turn_conf["min-port"] == "49152");
        CHECK(turn_conf["max-port"] == "65535");
        // The renewal hook gave coturn its copy of the certificate.
        CHECK(read_text(sb.path("/etc/coturn/certs/privkey.pem")) ==
              read_text(sb.path("/etc/letsencrypt/live/" + domain + "/privkey.pem")));
        CHECK(contains(sb.recorded_commands(), "systemctl restart coturn"));

        // The file as written, with only where it listens and what it may relay to changed for
        // loopback (it denies 127.0.0.0/8 to peers, rightly, on a real host).
        turn_port = free_loopback_port();
        coturn.emplace(std::vector<std::string>{turnserver, "-c", sb.path("/etc/turnserver.conf"),
                                                "--listening-ip=127.0.0.1", "--listening-port=" + std::to_string(turn_port),
                                                "--relay-ip=127.0.0.1", "--allow-loopback-peers",
                                                "--allowed-peer-ip=127.0.0.1", "--no-tls", "--no-dtls",
                                                "--pidfile=" + sb.path("/turnserver.pid"), "--db=" + sb.path("/turndb")},
                       sb.path("/turnserver.log"));
        REQUIRE_MESSAGE(wait_listening(turn_port, std::chrono::seconds(20)), "coturn did not start:\n" << coturn->output());
        sb.add_shim("turnutils_uclient",
                        "echo \"turnutils_uclient $*\" >> '" + sb.path("/commands.log") + "'\n"
                        "n=$#\nprev=\n"
                        "for a in \"$@\"; do\n"
                        "  orig=$a\n"
                        "  if [ \"$prev\" = -p ] && [ \"$a\" = 3478 ]; then a=" + std::to_string(turn_port) + "; fi\n"
                        "  if [ \"$a\" = " + domain + " ]; then a=127.0.0.1; fi\n"
                        "  set -- \"$@\" \"$a\"\n"
                        "  prev=$orig\n"
                        "done\n"
                        "shift $n\n"
                        "exec " + uclient + " \"$@\"\n");
    }

    // ---- Step 9: the checks, as written.
    auto const verify_run = sb.run_block("verify");
    INFO("verify: " << verify_run.output);
    REQUIRE(verify_run.status == 0);
    auto verify_lines = lines_of(verify_run.output);
    REQUIRE(verify_lines.size() >= 5);
    CHECK(contains(verify_lines[0], R"("status":"ok")"));
    CHECK(verify_lines[1] == "301 https://" + domain + "/health");
    CHECK(verify_lines[2] == "404");
    CHECK(std::stoi(verify_lines[3]) > 0);
    CHECK(verify_lines[4] == "302 https://" + domain + "/console/");

    auto const account_run = sb.run_block("account");
    INFO("account: " << account_run.output);
    REQUIRE(account_run.status == 0);
    auto const access = sb.variable("ACCESS");
    auto const device_id = sb.variable("DEVICE_ID");
    auto const device_secret = sb.variable("DEVICE_SECRET");
    REQUIRE(access.size() > 20);
    REQUIRE_FALSE(device_id.empty());
    REQUIRE(device_secret.size() > 20);
    CHECK(device_id != "null");

    {
        auto const turn_run = sb.run_block("turn");
        INFO("turn: " << turn_run.output << "\ncoturn: " << coturn->output());
        CHECK(turn_run.status == 0);
        CHECK(contains(turn_run.output, "\"urls\""));
        CHECK(contains(sb.recorded_commands(), "turnutils_uclient -y -n 1"));
    }

    // ---- What the site promises beyond step 9's lines: ACME challenges over plain HTTP, HSTS,
    // TLS 1.2 for older clients.
    {
        fs::create_directories(sb.path("/var/www/html/.well-known/acme-challenge"));
        write_text(sb.path("/var/www/html/.well-known/acme-challenge/ops-test-token"), "ops-test-token.key\n");
        auto const r = sb.run_shell("curl -fsS http://$DOMAIN/.well-known/acme-challenge/ops-test-token\n"
                         "curl -fsS -o /dev/null -D - https://$DOMAIN/health | tr -d '\\r' | tr A-Z a-z\n"
                         "curl -fsS --tlsv1.2 --tls-max 1.2 https://$DOMAIN/health\n");
        INFO("nginx extras: " << r.output);
        CHECK(r.status == 0);
        CHECK(contains(r.output, "ops-test-token.key"));
        CHECK(contains(r.output, "strict-transport-security: max-age="));
    }
    {
        // The web console through nginx: relayd's file with its security headers, unchanged.
        auto const r = sb.run_shell("curl -fsS -D - https://$DOMAIN/console/ | tr -d '\\r' | tr A-Z a-z\n");
        INFO("console: " << r.output);
        CHECK(r.status == 0);
        CHECK(contains(r.output, "content-security-policy: default-src 'none'; script-src 'self';"));
        CHECK(contains(r.output, "x-content-type-options: nosniff"));
        CHECK(contains(r.output, "<title>relay console</title>"));
    }
    {
        // A body of RELAY_TUNNEL_BODY_MAX reaches relayd (the robot is offline, so relayd answers
        // DEVICE_OFFLINE); one byte more is refused by nginx itself.
        auto max = std::stol(conf.at("RELAY_TUNNEL_BODY_MAX"));
        auto const r = sb.run_shell("head -c " + std::to_string(max) + " /dev/zero > '" + sb.path("/body-max") + "'\n"
                         "head -c " + std::to_string(max + 1) + " /dev/zero > '" + sb.path("/body-over") + "'\n"
                         "for f in body-max body-over; do\n"
                         "  curl -sS -o '" + sb.path("/") + "'$f.out -w '%{http_code}\\n' -X POST "
                         "-H \"Authorization: Bearer $ACCESS\" -H 'Content-Type: application/octet-stream' "
                         "--data-binary @'" + sb.path("/") + "'$f \"https://$DOMAIN/api/devices/$DEVICE_ID/rest/missions/start\"\n"
                         "done\n");
        INFO("bodies: " << r.output);
        REQUIRE(r.status == 0);
        auto codes = lines_of(r.output);
        REQUIRE(codes.size() == 2);
        CHECK(codes[0] == "503");
        CHECK(contains(read_text(sb.path("/body-max.out")), "DEVICE_OFFLINE"));
        CHECK(codes[1] == "413");
        CHECK(contains(read_text(sb.path("/body-over.out")), "nginx"));
    }

    // ---- Step 9's robot and app: robot-agent and relay-cli through nginx's WebSocket proxy.
    auto const robot_run = sb.run_block("robot");
    INFO("robot: " << robot_run.output);
    CHECK(robot_run.status == 0);
    CHECK(contains(robot_run.output, "deploy_check"));
    CHECK(contains(robot_run.output, device_id));

    // ---- WebSockets through nginx, checked message by message: an app (first-message auth)
    // and a robot (challenge and signature).
    wss_client app(https_port, domain, "/ws/app", ca);
    app.send({{"type", "auth"}, {"token", access}});
    auto auth_ok = app.expect("auth_ok", std::chrono::seconds(10));
    REQUIRE_MESSAGE(auth_ok.is_object(), "no auth_ok for the app through nginx");
    auto const& devices = auth_ok.at("devices").as_array();
    REQUIRE(devices.size() == 1);
    CHECK(devices[0].at("device_id").as_string() == device_id);

    wss_client robot(https_port, domain, "/ws/device", ca);
    auto challenge = robot.expect("auth_challenge", std::chrono::seconds(10));
    REQUIRE(challenge.is_object());
    auto nonce = std::string(challenge.at("nonce").as_string());
    robot.send({{"type", "auth"}, {"device_id", device_id},
                {"signature", relay::auth::device_signature(device_secret, nonce, device_id)}});
    REQUIRE_MESSAGE(robot.expect("auth_ok", std::chrono::seconds(10)).is_object(), "no auth_ok for the robot through nginx");

    auto connected = expect_event(app, "robot_connected");
    REQUIRE(connected.is_object());
    CHECK(connected.at("device_id").as_string() == device_id);
    robot.send({{"type", "event"}, {"event", "deploy_check_2"}, {"data", {{"ok", true}}}});
    auto event = expect_event(app, "deploy_check_2");
    REQUIRE(event.is_object());
    CHECK(event.at("seq").as_int64() >= 2); // robot-agent's event was the first

    // A token in the query string (which the contract allows) must not reach nginx's log.
    wss_client app_with_query(https_port, domain, "/ws/app?token=" + access, ca);
    CHECK(app_with_query.expect("auth_ok", std::chrono::seconds(10)).is_object());

    // ---- systemctl stop: SIGTERM; apps are told to reconnect (1012) through nginx, exit 0, in time.
    auto const stop_limit = std::stoi(unit_value(unit_text, "TimeoutStopSec"));
    auto started = std::chrono::steady_clock::now();
    auto status = relayd.stop(SIGTERM, std::chrono::seconds(stop_limit + 30));
    auto took = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    CHECK(status == 0);
    CHECK(took.count() < stop_limit);
    CHECK(app.wait_closed(std::chrono::seconds(30)) == 1012);
    CHECK(robot.wait_closed(std::chrono::seconds(30)) == 1012);
    CHECK(app_with_query.wait_closed(std::chrono::seconds(30)) == 1012);

    // ---- Logs: JSON lines only, and no secret in them; nginx's log without the token.
    auto const log = relayd.output();
    INFO("relayd log: " << log);
    check_json_logs(log);
    CHECK(contains(log, R"("event":"robot_connected")"));
    for (auto const& secret : {conf["RELAY_JWT_SECRET"], conf["RELAY_SECRET_KEY"], conf["RELAY_TURN_SECRET"],
                               sb.variable("PASSWORD"), access, device_secret}) {
        CHECK_FALSE(contains(log, secret));
    }
    nginx_server.stop(SIGTERM); // flushes the access log of the closed WebSockets
    auto const access_log = read_text(sb.path("/var/log/nginx/relay.access.log"));
    INFO("access log: " << access_log);
    CHECK(contains(access_log, "GET /ws/app HTTP/1.1\" 101"));
    CHECK(contains(access_log, "GET /ws/device HTTP/1.1\" 101"));
    CHECK_FALSE(contains(access_log, access));
}
