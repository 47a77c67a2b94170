// The REST tunnel (contract section 5) against a real relayd: HTTP and socket forms, bodies,
// timeouts, disconnects, the allow list, traversal attempts, roles and limits.
#include "support/barrier.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <relay/protocol/base64.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

using namespace relay::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/** A connected robot whose thread answers every http_request with `answer(request)`. */
class answering_robot {
public:
    using handler = std::function<std::optional<json::object>(json::object const&)>;

    answering_robot(std::uint16_t port, device_credentials const& dev, handler answer)
        : ws_(connect_robot(port, dev)), answer_(std::move(answer))
    {
        thread_ = std::thread([this] {
            try {
                loop();
            } catch (std::exception const&) {
                // The relay closed the connection under us: the test's checks say whether it should have.
            }
        });
    }
    void loop()
    {
        {
            while (!stop_) {
                auto m = ws_->read_json(100ms);
                if (!m) {
                    if (!ws_->is_open()) return;
                    continue;
                }
                auto const& o = m->as_object();
                if (o.at("type") == "error") {
                    std::lock_guard lock(errors_mutex_);
                    errors_.push_back(o);
                    continue;
                }
                if (o.at("type") != "http_request") continue;
                ++requests_;
                {
                    std::lock_guard lock(last_mutex_);
                    last_ = o;
                }
                if (auto reply = answer_(o)) {
                    (*reply)["type"] = "http_response";
                    (*reply)["id"] = o.at("id");
                    ws_->send(*reply);
                }
            }
        }
    }
    ~answering_robot() { stop(); }
    void stop()
    {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    void disconnect()
    {
        stop();
        ws_->close();
    }
    int requests() const { return requests_; }
    json::object last() const
    {
        std::lock_guard lock(last_mutex_);
        return last_;
    }
    /** The relay's `error` about the answer to request `id`, waiting up to `limit` for it; null if none. */
    json::value error_about(json::value const& id, std::chrono::milliseconds limit = 5s)
    {
        auto deadline = std::chrono::steady_clock::now() + limit;
        do {
            {
                std::lock_guard lock(errors_mutex_);
                for (auto const& e : errors_)
                    if (auto const* ref = e.if_contains("ref"); ref && *ref == id)
                        return e;
            }
            std::this_thread::sleep_for(20ms);
        } while (std::chrono::steady_clock::now() < deadline);
        return nullptr;
    }

private:
    std::unique_ptr<ws_client> ws_;
    handler answer_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
    mutable std::mutex last_mutex_; // guards last_: the robot's thread writes, the test reads
    json::object last_;
    std::mutex errors_mutex_; // guards errors_: the robot's thread adds, the test reads
    std::vector<json::object> errors_;
};

json::object echo(json::object const& req)
{
    json::object body{{"method", req.at("method")}, {"path", req.at("path")}, {"query", req.at("query")},
                      {"headers", req.at("headers")}};
    if (auto* b = req.if_contains("body")) body["body"] = *b;
    if (auto* b = req.if_contains("body_b64")) body["body_b64"] = *b;
    return {{"status", 200}, {"headers", {{"X-Robot", "yes"}, {"Connection", "close"}}}, {"body", body}};
}

struct tunnel_env {
    relayd_process relayd;
    account owner;
    device_credentials dev;
    explicit tunnel_env(std::map<std::string, std::string> extra = {})
        : relayd(test_env(std::move(extra))), owner(make_account(relayd.port())), dev(make_device(relayd.port(), owner, "tbot"))
    {
    }
    http_reply call(std::string const& method, std::string const& target, std::string const& body = {},
                    header_list headers = {}, std::string const* token = nullptr)
    {
        headers.emplace_back("Authorization", "Bearer " + (token ? *token : owner.access_token));
        return http_call(relayd.port(), method, target, body, headers);
    }
};

} // namespace

TEST_CASE("tunnel: each method of the robot API goes through and comes back")
{
    tunnel_env env;
    answering_robot robot(env.relayd.port(), env.dev, echo);

    auto get = env.call("GET", "/api/devices/tbot/rest/missions/status?verbose=1&x=a%20b");
    REQUIRE(get.status == 200);
    CHECK(get.header("x-robot") == "yes");
    CHECK(get.header("connection") != "close"); // hop-by-hop headers do not cross
    auto j = get.json();
    CHECK(j.at("method") == "GET");
    CHECK(j.at("path") == "/missions/status");
    CHECK(j.at("query") == "verbose=1&x=a%20b");
    // The relay's bearer token never reaches the robot.
    CHECK(!j.at("headers").as_object().contains("Authorization"));

    auto post = env.call("POST", "/api/devices/tbot/rest/missions/start", R"({"mission":"patrol","laps":2})");
    REQUIRE(post.status == 200);
    CHECK(post.json().at("body").at("mission") == "patrol");
    CHECK(post.json().at("method") == "POST");

    auto del = env.call("DELETE", "/api/devices/tbot/rest/programs/evening-walk");
    CHECK(del.status == 200);
    CHECK(del.json().at("path") == "/programs/evening-walk");

    auto mode = env.call("POST", "/api/devices/tbot/rest/mode", R"({"mode":"guard"})");
    CHECK(mode.status == 200);
    auto dog = env.call("GET", "/api/devices/tbot/rest/reports/dog/rex");
    CHECK(dog.status == 200);
    auto photo = env.call("GET", "/api/devices/tbot/rest/photos/2026/11/21/front.jpg");
    CHECK(photo.status == 200);
    CHECK(photo.json().at("path") == "/photos/2026/11/21/front.jpg");
}

TEST_CASE("tunnel: robot status codes and binary bodies pass through unchanged")
{
    tunnel_env env;
    std::string binary;
    for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
    answering_robot robot(env.relayd.port(), env.dev, [&](json::object const& req) -> std::optional<json::object> {
        if (req.at("path") == "/photos/cat.jpg")
            return json::object{{"status", 200},
                                {"headers", {{"Content-Type", "image/jpeg"}}},
                                {"body_b64", relay::protocol::base64_encode(binary)}};
        if (req.at("path") == "/missions/start") {
            // The robot sees a binary upload as base64.
            auto raw = relay::protocol::base64_decode(std::string(req.at("body_b64").as_string()));
            return json::object{{"status", 201}, {"headers", json::object{}}, {"body", {{"size", raw ? raw->size() : 0}}}};
        }
        return json::object{{"status", 404}, {"headers", json::object{}}, {"body", {{"detail", "no such mission"}}}};
    });
    auto photo = env.call("GET", "/api/devices/tbot/rest/photos/cat.jpg");
    CHECK(photo.status == 200);
    CHECK(photo.header("content-type") == "image/jpeg");
    CHECK(photo.body == binary);

    auto upload = env.call("POST", "/api/devices/tbot/rest/missions/start", binary, {{"Content-Type", "application/octet-stream"}});
    CHECK(upload.status == 201);
    CHECK(upload.json().at("size") == 256);

    auto missing = env.call("GET", "/api/devices/tbot/rest/missions/status");
    CHECK(missing.status == 404);
    CHECK(missing.json().at("detail") == "no such mission");
}

TEST_CASE("tunnel: large bodies up to the limit, 413 beyond it, both ways")
{
    tunnel_env env(env_map{{"RELAY_TUNNEL_BODY_MAX", "200000"}});
    answering_robot robot(env.relayd.port(), env.dev, [&](json::object const& req) -> std::optional<json::object> {
        if (req.at("path") == "/photos/big.bin")
            return json::object{{"status", 200}, {"headers", json::object{}},
                                {"body_b64", relay::protocol::base64_encode(std::string(250000, 'z'))}};
        auto size = req.contains("body_b64") ? req.at("body_b64").as_string().size() : 0;
        return json::object{{"status", 200}, {"headers", json::object{}}, {"body", {{"b64_size", size}}}};
    });
    std::string big(150000, 'q');
    auto ok = env.call("POST", "/api/devices/tbot/rest/missions/start", big, {{"Content-Type", "text/plain"}});
    CHECK(ok.status == 200);
    CHECK(ok.json().at("b64_size") == 200000);

    auto too_big = env.call("POST", "/api/devices/tbot/rest/missions/start", std::string(250000, 'q'),
                            {{"Content-Type", "text/plain"}});
    CHECK(too_big.status == 413);
    CHECK(too_big.error_code() == "BODY_TOO_LARGE");

    auto big_answer = env.call("GET", "/api/devices/tbot/rest/photos/big.bin");
    CHECK(big_answer.status == 413);
    CHECK(big_answer.error_code() == "BODY_TOO_LARGE");
    // The relay is fine afterwards.
    CHECK(env.call("GET", "/api/devices/tbot/rest/status").status == 200);
}

TEST_CASE("tunnel: offline robot 503, silent robot 504, late answers dropped")
{
    tunnel_env env(env_map{{"RELAY_TUNNEL_TIMEOUT", "1"}});
    auto offline = env.call("GET", "/api/devices/tbot/rest/status");
    CHECK(offline.status == 503);
    CHECK(offline.error_code() == "DEVICE_OFFLINE");

    std::atomic<bool> answer_late{true};
    auto ws = connect_robot(env.relayd.port(), env.dev);
    std::thread late([&] {
        auto m = ws->expect("http_request", 5s);
        if (m.is_null()) return;
        std::this_thread::sleep_for(3s); // well after the relay's 1 s deadline, even on a loaded machine
        ws->send(json::object{{"type", "http_response"}, {"id", m.at("id")}, {"status", 200},
                              {"headers", json::object{}}, {"body", "late"}});
        answer_late = false;
    });
    auto timeout = env.call("GET", "/api/devices/tbot/rest/status");
    CHECK(timeout.status == 504);
    CHECK(timeout.error_code() == "DEVICE_TIMEOUT");
    late.join();
    CHECK_FALSE(answer_late);
    // The late answer went nowhere, and the robot connection is still fine.
    round_trip(*ws);
}

TEST_CASE("tunnel: a robot that disconnects mid-request fails it at once, never replays it")
{
    tunnel_env env(env_map{{"RELAY_TUNNEL_TIMEOUT", "30"}});
    auto ws = connect_robot(env.relayd.port(), env.dev);
    std::thread leaver([&] {
        if (!ws->expect("http_request", 5s).is_null())
            ws->close();
    });
    auto started = std::chrono::steady_clock::now();
    auto r = env.call("POST", "/api/devices/tbot/rest/missions/start", "{}");
    auto took = std::chrono::steady_clock::now() - started;
    leaver.join();
    CHECK(r.status == 503);
    CHECK(r.error_code() == "DEVICE_OFFLINE");
    CHECK(took < 10s); // not the 30 s deadline
    // The next connection of the robot does not receive the old request.
    auto again = connect_robot(env.relayd.port(), env.dev);
    expect_nothing_before_pong(*again, "http_request");
}

TEST_CASE("tunnel: allow list and traversal attempts are refused before the robot sees them")
{
    tunnel_env env;
    answering_robot robot(env.relayd.port(), env.dev, echo);
    for (auto const& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/devices/tbot/rest/admin/shutdown"},
             {"POST", "/api/devices/tbot/rest/status"},
             {"GET", "/api/devices/tbot/rest/missions/../admin"},
             {"GET", "/api/devices/tbot/rest/missions/%2e%2e/admin"},
             {"GET", "/api/devices/tbot/rest/photos/..%2Fsecret"},
             {"GET", "/api/devices/tbot/rest/photos/a%5Cb"},
             {"GET", "/api/devices/tbot/rest/missions//status"},
             {"GET", "/api/devices/tbot/rest/photos/%252e%252e/x"},
             {"PUT", "/api/devices/tbot/rest/mode"},
         }) {
        CAPTURE(method);
        CAPTURE(target);
        auto r = env.call(method, target);
        CHECK(r.status == 403);
        CHECK(r.error_code() == "PATH_NOT_ALLOWED");
    }
    CHECK(robot.requests() == 0);
}

TEST_CASE("tunnel: a custom allow list replaces the default")
{
    tunnel_env env(env_map{{"RELAY_TUNNEL_ALLOW", "GET /custom/*, POST|PUT /things/**"}});
    answering_robot robot(env.relayd.port(), env.dev, echo);
    CHECK(env.call("GET", "/api/devices/tbot/rest/custom/one").status == 200);
    CHECK(env.call("GET", "/api/devices/tbot/rest/custom/one/two").status == 403);
    CHECK(env.call("PUT", "/api/devices/tbot/rest/things/a/b/c").status == 200);
    CHECK(env.call("GET", "/api/devices/tbot/rest/status").status == 403);
}

TEST_CASE("tunnel: roles — viewers only GET, strangers see no device")
{
    tunnel_env env;
    answering_robot robot(env.relayd.port(), env.dev, echo);
    auto viewer = make_account(env.relayd.port());
    auto op = make_account(env.relayd.port());
    auto stranger = make_account(env.relayd.port());
    share_device(env.relayd.port(), env.owner, "tbot", viewer, "viewer");
    share_device(env.relayd.port(), env.owner, "tbot", op, "operator");

    CHECK(env.call("GET", "/api/devices/tbot/rest/status", {}, {}, &viewer.access_token).status == 200);
    auto v_post = env.call("POST", "/api/devices/tbot/rest/missions/start", "{}", {}, &viewer.access_token);
    CHECK(v_post.status == 403);
    CHECK(v_post.error_code() == "FORBIDDEN");
    CHECK(env.call("POST", "/api/devices/tbot/rest/missions/start", "{}", {}, &op.access_token).status == 200);
    auto s = env.call("GET", "/api/devices/tbot/rest/status", {}, {}, &stranger.access_token);
    CHECK(s.status == 404);
    CHECK(s.error_code() == "DEVICE_NOT_FOUND");
    auto anon = http_call(env.relayd.port(), "GET", "/api/devices/tbot/rest/status");
    CHECK(anon.status == 401);
}

TEST_CASE("tunnel: per-device concurrency limit")
{
    tunnel_env env(env_map{{"RELAY_TUNNEL_MAX_PER_DEVICE", "1"}, {"RELAY_TUNNEL_TIMEOUT", "3"}});
    auto ws = connect_robot(env.relayd.port(), env.dev); // never answers
    std::thread first([&] { env.call("GET", "/api/devices/tbot/rest/status"); });
    CHECK(!ws->expect("http_request", 5s).is_null());
    auto second = env.call("GET", "/api/devices/tbot/rest/mode");
    CHECK(second.status == 429);
    CHECK(second.error_code() == "RATE_LIMITED");
    first.join();
}

TEST_CASE("tunnel over /ws/app: http_request answered by http_response with the app's id")
{
    tunnel_env env;
    answering_robot robot(env.relayd.port(), env.dev, echo);
    auto app = connect_app(env.relayd.port(), env.owner);
    app->send(json::object{{"type", "http_request"}, {"device_id", "tbot"}, {"id", "r1"}, {"method", "POST"},
                           {"path", "/missions/start"}, {"query", "fast=1"}, {"body", {{"mission", "patrol"}}}});
    app->send(json::object{{"type", "ping"}, {"id", "meanwhile"}});
    auto res = app->expect("http_response", 15s);
    REQUIRE(!res.is_null());
    CHECK(res.at("id") == "r1");
    CHECK(res.at("device_id") == "tbot");
    CHECK(res.at("status") == 200);
    CHECK(res.at("body").at("query") == "fast=1");
    CHECK(res.at("body").at("body").at("mission") == "patrol");
    CHECK(!res.at("headers").as_object().contains("Connection"));

    app->send(json::object{{"type", "http_request"}, {"device_id", "tbot"}, {"id", "r2"}, {"method", "GET"},
                           {"path", "/secret"}});
    auto err = app->expect("error");
    CHECK(err.at("code") == "PATH_NOT_ALLOWED");
    CHECK(err.at("ref") == "r2");
}

namespace {

/** Answers a robot may try that are no valid final HTTP answer, by the path that asks for them. */
std::map<std::string, json::object> const& invalid_answers()
{
    static std::map<std::string, json::object> const answers{
        {"/photos/101", {{"status", 101}, {"headers", {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}}}},
        {"/photos/100", {{"status", 100}}},
        {"/photos/103", {{"status", 103}, {"headers", {{"Link", "</app.css>; rel=preload"}}}}},
        {"/photos/99", {{"status", 99}}},
        {"/photos/600", {{"status", 600}, {"body", "odd"}}},
        {"/photos/204-body", {{"status", 204}, {"body", {{"a", 1}}}}},
        {"/photos/304-body", {{"status", 304}, {"body_b64", "eA=="}}},
        {"/photos/crlf-value", {{"status", 200}, {"headers", {{"X-Evil", "a\r\nSet-Cookie: x=1"}}}}},
        {"/photos/lf-value", {{"status", 200}, {"headers", {{"X-Evil", "a\nb"}}}}},
        {"/photos/nul-value", {{"status", 200}, {"headers", {{"X-Evil", std::string("a\0b", 3)}}}}},
        {"/photos/cr-name", {{"status", 200}, {"headers", {{"X-Evil\r", "a"}}}}},
        {"/photos/nul-name", {{"status", 200}, {"headers", {{std::string("X-Evil\0", 7), "a"}}}}},
    };
    return answers;
}

std::optional<json::object> invalid_answer(json::object const& req)
{
    auto it = invalid_answers().find(std::string(req.at("path").as_string()));
    if (it == invalid_answers().end())
        return json::object{{"status", 200}, {"headers", json::object{}}, {"body", "fine"}};
    return it->second;
}

} // namespace

TEST_CASE("tunnel: an answer that is no valid final HTTP answer is 502 at once, and the robot hears why")
{
    // A 30 s deadline: a caller left waiting for it would show in `took`.
    tunnel_env env(env_map{{"RELAY_TUNNEL_TIMEOUT", "30"}});
    answering_robot robot(env.relayd.port(), env.dev, invalid_answer);
    for (auto const& [path, answer] : invalid_answers()) {
        CAPTURE(path);
        auto started = std::chrono::steady_clock::now();
        auto r = env.call("GET", "/api/devices/tbot/rest" + path);
        auto took = std::chrono::steady_clock::now() - started;
        CHECK(r.status == 502);
        CHECK(r.error_code() == "DEVICE_BAD_RESPONSE");
        CHECK(took < 10s);
        // The robot is told which of its answers was refused, under that answer's id.
        auto told = robot.error_about(robot.last().at("id"));
        REQUIRE(!told.is_null());
        CHECK(told.at("code") == "BAD_MESSAGE");
    }
    // The robot's connection and the tunnel still work.
    auto fine = env.call("GET", "/api/devices/tbot/rest/photos/ok.jpg");
    CHECK(fine.status == 200);
    CHECK(fine.body == "\"fine\"");
}

TEST_CASE("tunnel over /ws/app: an invalid answer is DEVICE_BAD_RESPONSE at once, with the app's id")
{
    tunnel_env env(env_map{{"RELAY_TUNNEL_TIMEOUT", "30"}});
    answering_robot robot(env.relayd.port(), env.dev, invalid_answer);
    auto app = connect_app(env.relayd.port(), env.owner);
    for (std::string path : {"/photos/101", "/photos/103", "/photos/204-body", "/photos/crlf-value"}) {
        CAPTURE(path);
        app->send(json::object{{"type", "http_request"}, {"device_id", "tbot"}, {"id", "r" + path},
                               {"method", "GET"}, {"path", path}});
        // Well under the 30 s deadline.
        auto err = app->expect("error", 10s);
        REQUIRE(!err.is_null());
        CHECK(err.at("code") == "DEVICE_BAD_RESPONSE");
        CHECK(err.at("ref") == json::value("r" + path));
    }
}

TEST_CASE("tunnel: a robot cannot set the relay origin's policies, and its answers cannot script that origin")
{
    tunnel_env env;
    json::object origin_wide{{"Access-Control-Allow-Origin", "*"},
                             {"Access-Control-Allow-Credentials", "true"},
                             {"Access-Control-Expose-Headers", "*"},
                             {"Strict-Transport-Security", "max-age=0"},
                             {"Content-Security-Policy", "script-src *"},
                             {"Content-Security-Policy-Report-Only", "default-src *"},
                             {"X-Content-Type-Options", "sniff"},
                             {"Set-Cookie", "session=robot"},
                             {"Clear-Site-Data", "\"storage\""},
                             {"Alt-Svc", "h2=\"evil.example:443\""},
                             {"NEL", "{\"report_to\":\"r\"}"},
                             {"Report-To", "{\"group\":\"r\"}"}};
    answering_robot robot(env.relayd.port(), env.dev, [&](json::object const&) -> std::optional<json::object> {
        json::object headers = origin_wide;
        headers["Content-Type"] = "text/html";
        headers["X-Robot"] = "yes";
        return json::object{{"status", 200}, {"headers", headers},
                            {"body_b64", relay::protocol::base64_encode("<script>alert(document.cookie)</script>")}};
    });
    auto r = env.call("GET", "/api/devices/tbot/rest/photos/page.html");
    REQUIRE(r.status == 200);
    CHECK(r.header("x-robot") == "yes");
    CHECK(r.header("content-type") == "text/html");
    for (auto const& header : origin_wide) {
        std::string lower(header.key());
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CAPTURE(lower);
        CHECK(r.header(lower) != std::string(header.value().as_string()));
    }
    CHECK(r.header("access-control-allow-origin").empty());
    CHECK(r.header("set-cookie").empty());
    // The relay's own policy for every tunnelled answer: no sniffing, a sandbox loading nothing.
    CHECK(r.header("x-content-type-options") == "nosniff");
    CHECK(r.header("content-security-policy") == "default-src 'none'; sandbox");
    CHECK(r.header("content-security-policy-report-only").empty());

    // The socket form carries none of them either.
    auto app = connect_app(env.relayd.port(), env.owner);
    app->send(json::object{{"type", "http_request"}, {"device_id", "tbot"}, {"id", "h1"}, {"method", "GET"},
                           {"path", "/photos/page.html"}});
    auto res = app->expect("http_response", 15s);
    REQUIRE(!res.is_null());
    auto const& headers = res.at("headers").as_object();
    CHECK(headers.contains("X-Robot"));
    for (auto const& header : origin_wide) {
        std::string name(header.key());
        CAPTURE(name);
        CHECK(!headers.contains(name));
    }
}

TEST_CASE("tunnel: path parameters, invalid or overlong UTF-8 and control characters are refused")
{
    tunnel_env env;
    answering_robot robot(env.relayd.port(), env.dev, echo);
    for (std::string path : {
             "/photos/..;/admin",           // Tomcat and friends: "/admin"
             "/photos/a;jsessionid=1.jpg",  // any path parameter
             "/photos/..%3b/admin",         // encoded
             "/photos/%3B",
             "/photos/%C0%AE%C0%AE/admin",  // overlong '.'
             "/photos/%C0%AF",              // overlong '/'
             "/photos/%E0%80%AE",           // three-byte overlong '.'
             "/photos/%FF.jpg",             // not UTF-8 at all
             "/photos/%C3",                 // truncated sequence
             "/photos/%ED%A0%80",           // a UTF-16 surrogate
             "/photos/a%7Fb",               // DEL
             "/photos/a%C2%85b",            // NEL, a C1 control character
             "/photos/a%C2%9Bb",            // CSI
         }) {
        CAPTURE(path);
        auto r = env.call("GET", "/api/devices/tbot/rest" + path);
        CHECK(r.status == 403);
        CHECK(r.error_code() == "PATH_NOT_ALLOWED");
    }
    CHECK(robot.requests() == 0);
    // Valid UTF-8 still passes, as the robot's own names may need it.
    auto ok = env.call("GET", "/api/devices/tbot/rest/photos/caf%C3%A9.jpg");
    CHECK(ok.status == 200);
    CHECK(ok.json().at("path") == "/photos/caf%C3%A9.jpg");

    // The socket form applies the same filter.
    auto app = connect_app(env.relayd.port(), env.owner);
    app->send(json::object{{"type", "http_request"}, {"device_id", "tbot"}, {"id", "p1"}, {"method", "GET"},
                           {"path", "/photos/..;/admin"}});
    auto err = app->expect("error");
    REQUIRE(!err.is_null());
    CHECK(err.at("code") == "PATH_NOT_ALLOWED");
    CHECK(err.at("ref") == "p1");
    CHECK(robot.requests() == 1);
}
