// The robot agent's building blocks without a relay: the REST-tunnel forwarder against a
// small local HTTP server, reading a command handler's output, and running command programs.
#ifdef RELAY_TEST_ROBOT_AGENT
#include "fake_relay.hpp"
#include "support/relayd_process.hpp"

#include "command_runner.hpp"

#include <relay/protocol/base64.hpp>
#include <relay/robot/local_api.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include <sys/stat.h>

using namespace relay::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace agent = relay::agent;
namespace robot = relay::robot;
namespace protocol = relay::protocol;

namespace {

robot::http_target local(std::uint16_t port, std::string base = {})
{
    return {"127.0.0.1", port, std::move(base)};
}

std::string write_script(temp_dir const& dir, std::string const& name, std::string const& body)
{
    auto path = dir.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
}

protocol::robot_command make_command(std::string name, json::value data = json::object{})
{
    return {"c-1", "u-1", std::move(name), std::move(data)};
}

} // namespace

TEST_CASE("local service URLs")
{
    std::string why;
    auto t = robot::parse_http_target("http://127.0.0.1:5000", why);
    REQUIRE(t);
    CHECK(t->host == "127.0.0.1");
    CHECK(t->port == 5000);
    CHECK(t->base_path.empty());
    auto b = robot::parse_http_target("http://localhost/api/", why);
    REQUIRE(b);
    CHECK(b->port == 80);
    CHECK(b->base_path == "/api");
    for (auto bad : {"https://127.0.0.1:5000", "127.0.0.1:5000", "http://:5000", "http://host:0", "http://host:99999",
                     "http://user@host", "http://host:80x"}) {
        CAPTURE(bad);
        CHECK(!robot::parse_http_target(bad, why));
        CHECK(!why.empty());
    }
}

TEST_CASE("the forwarder passes requests to the local API and shapes its answers for the relay")
{
    std::mutex seen_mutex;
    std::vector<received_request> seen;
    local_http_server api([&](received_request const& r) {
        {
            std::lock_guard lock(seen_mutex);
            seen.push_back(r);
        }
        canned_response res;
        if (r.target.rfind("/api/status", 0) == 0) {
            res.headers = {{"Content-Type", "application/json; charset=utf-8"}, {"X-Robot", "r1"}};
            res.body = R"({"battery":80,"mode":"idle"})";
        } else if (r.target == "/api/photos/1.png") {
            res.headers = {{"Content-Type", "image/png"}};
            res.body = std::string("\x89PNG\r\n\x1a\n\x00\x01", 10);
        } else if (r.target == "/api/echo") {
            res.headers = {{"Content-Type", r.headers.count("content-type") ? r.headers.at("content-type") : "text/plain"}};
            res.body = r.body;
        } else if (r.target == "/api/slow") {
            std::this_thread::sleep_for(1500ms);
        } else if (r.target == "/api/big") {
            res.body = std::string(2000, 'x');
        } else if (r.target == "/api/interim") {
            res.status = 103;
        } else if (r.target == "/api/odd") {
            res.status = 600;
            res.body = "odd";
        } else {
            res.status = 404;
            res.headers = {{"Content-Type", "text/plain"}};
            res.body = "no such thing";
        }
        return res;
    });
    auto target = local(api.port(), "/api");

    SUBCASE("GET with query and headers; JSON answer as body, hop-by-hop headers dropped")
    {
        protocol::robot_http_request req;
        req.id = "h1";
        req.method = "GET";
        req.path = "/status";
        req.query = "verbose=1";
        req.headers = {{"Accept", "application/json"}, {"X-Trace", "t-1"}, {"Connection", "keep-alive"}, {"Host", "evil"}};
        auto res = robot::forward_to_local_api(target, req);
        CHECK(res.id == "h1");
        CHECK(res.status == 200);
        REQUIRE(res.body);
        CHECK(res.body->at("battery") == 80);
        CHECK(!res.body_b64);
        CHECK(res.headers.at("X-Robot") == "r1");
        CHECK(!res.headers.count("Content-Length"));
        std::lock_guard lock(seen_mutex);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].method == "GET");
        CHECK(seen[0].target == "/api/status?verbose=1");
        CHECK(seen[0].headers.at("x-trace") == "t-1");
        CHECK(seen[0].headers.at("host") == "127.0.0.1:" + std::to_string(api.port()));
        CHECK(seen[0].headers.at("connection") != "keep-alive");
    }
    SUBCASE("JSON and raw request bodies arrive as sent")
    {
        protocol::robot_http_request req;
        req.id = "h2";
        req.method = "POST";
        req.path = "/echo";
        req.body = json::object{{"mode", "patrol"}};
        auto res = robot::forward_to_local_api(target, req);
        CHECK(res.status == 200);
        REQUIRE(res.body);
        CHECK(res.body->at("mode") == "patrol");

        protocol::robot_http_request raw;
        raw.id = "h3";
        raw.method = "PUT";
        raw.path = "/echo";
        raw.headers = {{"Content-Type", "application/octet-stream"}};
        raw.body_b64 = protocol::base64_encode(std::string("\x00\x01\x02\xff", 4));
        auto res2 = robot::forward_to_local_api(target, raw);
        REQUIRE(res2.body_b64);
        CHECK(protocol::base64_decode(*res2.body_b64) == std::string("\x00\x01\x02\xff", 4));
        std::lock_guard lock(seen_mutex);
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].headers.at("content-type") == "application/json");
        CHECK(json::parse(seen[0].body) == json::parse(R"({"mode":"patrol"})"));
        CHECK(seen[1].method == "PUT");
        CHECK(seen[1].body == std::string("\x00\x01\x02\xff", 4));
    }
    SUBCASE("binary and non-JSON answers travel as body_b64; statuses pass through")
    {
        protocol::robot_http_request png{"h4", "GET", "/photos/1.png", "", {}, std::nullopt, std::nullopt};
        auto res = robot::forward_to_local_api(target, png);
        CHECK(res.status == 200);
        REQUIRE(res.body_b64);
        CHECK(protocol::base64_decode(*res.body_b64) == std::string("\x89PNG\r\n\x1a\n\x00\x01", 10));
        CHECK(res.headers.at("Content-Type") == "image/png");

        protocol::robot_http_request missing{"h5", "GET", "/nope", "", {}, std::nullopt, std::nullopt};
        auto res2 = robot::forward_to_local_api(target, missing);
        CHECK(res2.status == 404);
        REQUIRE(res2.body_b64);
        CHECK(protocol::base64_decode(*res2.body_b64) == "no such thing");
    }
    SUBCASE("a status the relay would refuse (1xx, outside 200-599) becomes 502 LOCAL_API_BAD_STATUS")
    {
        for (std::string path : {"/interim", "/odd"}) {
            CAPTURE(path);
            protocol::robot_http_request req{"h7", "GET", path, "", {}, std::nullopt, std::nullopt};
            auto res = robot::forward_to_local_api(target, req);
            CHECK(res.status == 502);
            REQUIRE(res.body);
            CHECK(res.body->at("error").at("code") == "LOCAL_API_BAD_STATUS");
            CHECK(res.id == "h7");
        }
    }
    SUBCASE("failures become answers: unreachable 502, too slow 504, too large 502")
    {
        protocol::robot_http_request req{"h6", "GET", "/slow", "", {}, std::nullopt, std::nullopt};
        auto slow = robot::forward_to_local_api(target, req, {200ms, 1024 * 1024});
        CHECK(slow.status == 504);
        CHECK(slow.body->at("error").at("code") == "LOCAL_API_TIMEOUT");

        req.path = "/big";
        auto big = robot::forward_to_local_api(target, req, {10s, 1000});
        CHECK(big.status == 502);
        CHECK(big.body->at("error").at("code") == "BODY_TOO_LARGE");

        auto gone = robot::forward_to_local_api(local(1), req);
        CHECK(gone.status == 502);
        CHECK(gone.body->at("error").at("code") == "LOCAL_API_UNREACHABLE");
        CHECK(gone.id == "h6");
    }
}

TEST_CASE("reading a command handler's output")
{
    auto r = agent::interpret_output(true, R"({"ok":true,"data":{"x":1}})", "");
    CHECK(r.ok);
    CHECK(r.data->at("x") == 1);
    CHECK(!r.error);

    r = agent::interpret_output(true, R"({"ok":false,"error":{"code":"NOPE"}})", "");
    CHECK(!r.ok);
    CHECK(r.error->at("code") == "NOPE");

    r = agent::interpret_output(false, R"({"ok":false})", "exit 3");
    CHECK(!r.ok);
    CHECK(r.error->at("message") == "exit 3");

    r = agent::interpret_output(true, "[1,2]\n", "");
    CHECK(r.ok);
    CHECK(r.data->as_array().size() == 2);

    r = agent::interpret_output(false, "42", "boom");
    CHECK(!r.ok);
    CHECK(r.error->at("code") == "COMMAND_FAILED");
    CHECK(r.error->at("output") == 42);

    r = agent::interpret_output(true, "  \n", "");
    CHECK(r.ok);
    CHECK(!r.data);

    r = agent::interpret_output(false, "", "stderr says why");
    CHECK(!r.ok);
    CHECK(r.error->at("message") == "stderr says why");

    r = agent::interpret_output(true, "done!", "");
    CHECK(!r.ok);
    CHECK(r.error->at("code") == "BAD_OUTPUT");
}

TEST_CASE("command programs: input, environment without the secret, failures, timeouts")
{
    temp_dir dir;
    std::atomic<bool> no_cancel{false};
    ::setenv("RELAY_DEVICE_SECRET", "top-secret", 1);
    auto echo = write_script(dir, "echo.sh",
                             "input=$(cat)\n"
                             "printf '{\"ok\":true,\"data\":{\"input\":%s,\"command\":\"%s\",\"id\":\"%s\",\"device\":\"%s\","
                             "\"secret\":\"%s\"}}\\n' \"$input\" \"$RELAY_COMMAND\" \"$RELAY_COMMAND_ID\" "
                             "\"$RELAY_DEVICE_ID\" \"${RELAY_DEVICE_SECRET:-hidden}\"\n");
    auto r = agent::run_command_program({echo, 10s, 1024 * 1024, "wimz-9"}, make_command("dance", json::object{{"n", 2}}), no_cancel);
    ::unsetenv("RELAY_DEVICE_SECRET");
    REQUIRE(r.ok);
    CHECK(r.data->at("input").at("type") == "command");
    CHECK(r.data->at("input").at("data").at("n") == 2);
    CHECK(r.data->at("command") == "dance");
    CHECK(r.data->at("id") == "c-1");
    CHECK(r.data->at("device") == "wimz-9");
    CHECK(r.data->at("secret") == "hidden");

    auto crash = write_script(dir, "crash.sh", "echo 'motor jammed' >&2\nexit 3\n");
    r = agent::run_command_program({crash, 10s, 1024 * 1024, "wimz-9"}, make_command("go"), no_cancel);
    CHECK(!r.ok);
    CHECK(r.error->at("code") == "COMMAND_FAILED");
    CHECK(r.error->at("message") == "motor jammed");

    // A program that ignores its input and exits at once is fine too.
    auto quiet = write_script(dir, "quiet.sh", "exit 0\n");
    r = agent::run_command_program({quiet, 10s, 1024 * 1024, "wimz-9"}, make_command("go", json::value(std::string(200000, 'x'))), no_cancel);
    CHECK(r.ok);

    auto slow = write_script(dir, "slow.sh", "sleep 30 &\nsleep 30\n");
    auto started = std::chrono::steady_clock::now();
    r = agent::run_command_program({slow, 300ms, 1024 * 1024, "wimz-9"}, make_command("go"), no_cancel);
    CHECK(!r.ok);
    CHECK(r.error->at("code") == "TIMEOUT");
    CHECK(std::chrono::steady_clock::now() - started < 20s); // killed, not waited for

    std::atomic<bool> cancel{true};
    r = agent::run_command_program({slow, 30s, 1024 * 1024, "wimz-9"}, make_command("go"), cancel);
    CHECK(r.error->at("code") == "CANCELLED");

    r = agent::run_command_program({dir.path() + "/missing.sh", 10s, 1024 * 1024, "wimz-9"}, make_command("go"), no_cancel);
    CHECK(!r.ok);
    CHECK(std::string(r.error->at("message").as_string()).find("cannot execute") != std::string::npos);
}

TEST_CASE("command webhooks: the command is POSTed, the answer's body is the result")
{
    local_http_server hook([](received_request const& r) {
        canned_response res;
        auto cmd = json::parse(r.body);
        if (cmd.at("command") == "fail") {
            res.status = 500;
            res.body = "";
        } else {
            res.headers = {{"Content-Type", "application/json"}};
            res.body = json::serialize(json::object{{"ok", true}, {"data", json::object{{"path", r.target}, {"got", cmd.at("data")}}}});
        }
        return res;
    });
    auto r = agent::call_command_webhook(local(hook.port(), "/hooks/cmd"), make_command("go", json::object{{"k", "v"}}), 10s);
    REQUIRE(r.ok);
    CHECK(r.data->at("path") == "/hooks/cmd");
    CHECK(r.data->at("got").at("k") == "v");
    r = agent::call_command_webhook(local(hook.port()), make_command("fail"), 10s);
    CHECK(!r.ok);
    CHECK(std::string(r.error->at("message").as_string()).find("500") != std::string::npos);
    r = agent::call_command_webhook(local(1), make_command("go"), 10s);
    CHECK(!r.ok);
    CHECK(r.error->at("code") == "WEBHOOK_UNREACHABLE");
}
#endif
