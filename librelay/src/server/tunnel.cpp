#include "server/tunnel.hpp"

#include "auth/utf8.hpp"
#include "server/http/http_util.hpp"
#include "server/http/router.hpp"
#include "server/services.hpp"

#include <relay/auth/crypto.hpp>
#include <relay/protocol/base64.hpp>
#include <relay/protocol/codec.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/grammar/hexdig_chars.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace relay::server {
namespace {

using boost::urls::grammar::hexdig_value;

// The allow list's view of a path: split_path's segments without a trailing empty one, so
// "/status/" is "/status" and "/" has none.
std::vector<std::string_view> segments_of(std::string_view path)
{
    auto segments = split_path(path);
    if (segments.back().empty())
        segments.pop_back();
    return segments;
}

std::string upper(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

/** Whether `name` is one of `names`, ignoring case as header names do. */
template <std::size_t N> bool is_one_of(std::string_view name, std::array<std::string_view, N> const& names)
{
    return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return beast::iequals(name, n); });
}

/** Waits, on the caller's executor, for the robot's answer to one tunnelled request. */
class tunnel_wait final : public routing::tunnel_waiter, public std::enable_shared_from_this<tunnel_wait> {
public:
    explicit tunnel_wait(net::any_io_executor ex) : executor_(ex), timer_(ex) {}

    void complete(protocol::robot_http_response response) override
    {
        net::post(executor_, [self = shared_from_this(), r = std::move(response)]() mutable {
            self->response_ = std::move(r);
            self->timer_.cancel();
        });
    }

    void fail(errc code, std::string message) override
    {
        net::post(executor_, [self = shared_from_this(), code, m = std::move(message)]() mutable {
            self->failure_ = std::make_pair(code, std::move(m));
            self->timer_.cancel();
        });
    }

    /** Returns once answered, failed, or at `deadline`; the answer may have come before the call. */
    net::awaitable<void> wait(std::chrono::steady_clock::time_point deadline)
    {
        if (response_ || failure_)
            co_return;
        timer_.expires_at(deadline);
        co_await timer_.async_wait(use_tuple);
    }

    std::optional<protocol::robot_http_response> response_;
    std::optional<std::pair<errc, std::string>> failure_;

private:
    net::any_io_executor executor_;
    net::steady_timer timer_;
};

std::size_t body_size(protocol::robot_http_response const& r)
{
    if (r.body)
        return boost::json::serialize(*r.body).size();
    if (r.body_b64)
        return r.body_b64->size() / 4 * 3;
    return 0;
}

} // namespace

std::vector<std::string> tunnel_policy::default_entries()
{
    return {
        "GET /missions/available", "POST /missions/start", "POST /missions/stop", "POST /missions/pause",
        "POST /missions/resume", "GET /missions/status",
        "GET /programs/available", "POST /programs/start", "POST /programs/stop", "POST /programs/pause",
        "POST /programs/resume", "GET /programs/status", "POST /programs/create", "DELETE /programs/*",
        "GET /reports/weekly", "GET /reports/trends", "GET /reports/compare", "GET /reports/dog/*",
        "GET|POST /mode", "GET /status", "GET /photos/**",
    };
}

std::optional<tunnel_policy> tunnel_policy::parse(std::vector<std::string> const& entries, std::string& why)
{
    tunnel_policy p;
    for (auto const& entry : entries) {
        auto space = entry.find(' ');
        if (space == std::string::npos || entry.size() < space + 2 || entry[space + 1] != '/') {
            why = "tunnel allow-list entry '" + entry + "' is not 'METHOD /path'";
            return std::nullopt;
        }
        rule r;
        std::string_view methods(entry.data(), space);
        while (!methods.empty()) {
            auto bar = methods.find('|');
            auto m = upper(methods.substr(0, bar));
            if (m.empty()) {
                why = "tunnel allow-list entry '" + entry + "' has an empty method";
                return std::nullopt;
            }
            r.methods.push_back(m);
            if (bar == std::string_view::npos) break;
            methods.remove_prefix(bar + 1);
        }
        auto segs = segments_of(std::string_view(entry).substr(space + 1));
        for (std::size_t i = 0; i < segs.size(); ++i) {
            if (segs[i].empty() || (segs[i] == "**" && i + 1 != segs.size())) {
                why = "tunnel allow-list entry '" + entry + "': empty segment or '**' before the end";
                return std::nullopt;
            }
            r.segments.emplace_back(segs[i]);
        }
        p.rules_.push_back(std::move(r));
    }
    return p;
}

bool tunnel_policy::allows(std::string_view method, std::string_view path) const
{
    auto segs = segments_of(path);
    for (auto const& r : rules_) {
        if (std::find(r.methods.begin(), r.methods.end(), "*") == r.methods.end() &&
            std::find(r.methods.begin(), r.methods.end(), method) == r.methods.end())
            continue;
        bool ok = true;
        std::size_t i = 0;
        for (; i < r.segments.size() && ok; ++i) {
            if (r.segments[i] == "**") {
                ok = segs.size() > i;
                i = segs.size();
                break;
            }
            ok = i < segs.size() && (r.segments[i] == "*" || r.segments[i] == segs[i]);
        }
        if (ok && i == segs.size() && (r.segments.empty() || r.segments.back() == "**" || i == r.segments.size()))
            return true;
    }
    return false;
}

std::string check_tunnel_path(std::string_view path)
{
    if (path.empty() || path.front() != '/')
        return "the path must start with '/'";
    if (path.find("://") != std::string_view::npos)
        return "absolute URLs are not allowed";
    for (std::size_t i = 0; i < path.size(); ++i) {
        auto c = static_cast<unsigned char>(path[i]);
        if (c < 0x21 || c >= 0x7f || c == '\\' || c == '?' || c == '#' || c == '"' || c == '<' || c == '>' ||
            c == '`' || c == '{' || c == '}' || c == '|' || c == '^')
            return "the path has a character that is not allowed";
        // Path parameters: servers such as Tomcat read "/photos/..;/admin" as "/admin".
        if (c == ';')
            return "path parameters (';') are not allowed";
        if (c == '%') {
            int hi = i + 2 < path.size() ? hexdig_value(path[i + 1]) : -1;
            int lo = i + 2 < path.size() ? hexdig_value(path[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return "the path has a malformed percent-escape";
            int decoded = hi * 16 + lo;
            // Encoded separators, dots, percents and semicolons could smuggle a traversal past the matcher.
            if (decoded == '/' || decoded == '\\' || decoded == '.' || decoded == '%' || decoded == ';' ||
                decoded < 0x20 || decoded == 0x7f)
                return "encoded separators, dots, ';' and control characters are not allowed";
        }
    }
    // What the robot's server will see: valid UTF-8 only (an overlong "%C0%AE" is a dot to some
    // decoders) and no C1 control characters (U+0080 to U+009F).
    auto decoded = percent_decode(path, false).value_or(std::string());
    if (!auth::detail::utf8_code_points(decoded))
        return "the path is not valid UTF-8 once percent-decoded";
    for (std::size_t i = 0; i + 1 < decoded.size(); ++i)
        if (static_cast<unsigned char>(decoded[i]) == 0xC2 && static_cast<unsigned char>(decoded[i + 1]) < 0xA0)
            return "encoded separators, dots, ';' and control characters are not allowed";
    for (auto seg : segments_of(path)) {
        if (seg.empty())
            return "empty path segments are not allowed";
        if (seg == "." || seg == "..")
            return "'.' and '..' segments are not allowed";
    }
    return {};
}

bool is_stripped_header(std::string_view name)
{
    static constexpr std::array<std::string_view, 14> stripped{
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length", "authorization", "cookie", "set-cookie"};
    return is_one_of(name, stripped);
}

bool is_stripped_answer_header(std::string_view name)
{
    // The answer is served from the relay's origin, which the browser console shares: a robot
    // must not set that origin's cookies, CORS, transport or content policy, storage or reports.
    static constexpr std::array<std::string_view, 11> origin_wide{
        "strict-transport-security", "content-security-policy", "content-security-policy-report-only",
        "x-content-type-options", "set-cookie2", "clear-site-data", "alt-svc", "nel", "report-to",
        "reporting-endpoints", "service-worker-allowed"};
    constexpr std::string_view cors = "access-control-";
    return is_stripped_header(name) || is_one_of(name, origin_wide) ||
           (name.size() > cors.size() && beast::iequals(name.substr(0, cors.size()), cors));
}

net::awaitable<tunnel_outcome> tunnel_call(runtime& rt, live_service& live, tunnel_request const& req)
{
    tunnel_outcome out;
    auto fail = [&](errc code, std::string message) {
        out.code = code;
        out.message = std::move(message);
        rt.metrics.registry
            .get_counter("relay_tunnel_requests_total", "REST-tunnel requests by outcome.",
                         {{"outcome", std::string(wire_name(code))}})
            .inc();
        return out;
    };
    if (req.role == protocol::role::viewer && req.method != "GET")
        co_return fail(errc::forbidden, "viewers may only GET through the tunnel");
    if (auto why = check_tunnel_path(req.path); !why.empty())
        co_return fail(errc::path_not_allowed, why);
    if (!rt.tunnel_allow.allows(req.method, req.path))
        co_return fail(errc::path_not_allowed, req.method + " " + req.path + " is not on the tunnel's allow list");
    auto robot = live.hub.robot(req.device_id);
    if (!robot && !live.cross_node)
        co_return fail(errc::device_offline, "the robot is not connected");

    auto started = std::chrono::steady_clock::now();
    auto waiter = std::make_shared<tunnel_wait>(co_await net::this_coro::executor);
    std::string id = "t_" + auth::random_token(12);
    if (!live.hub.register_tunnel(req.device_id, id, req.user_id, waiter, rt.options.tunnel_max_per_device,
                                  rt.options.tunnel_max_per_user))
        co_return fail(errc::rate_limited, "too many tunnelled requests in flight for this robot or user");

    protocol::robot_http_request forwarded{id, req.method, req.path, req.query, {}, req.body, req.body_b64};
    for (auto const& [k, v] : req.headers)
        if (!is_stripped_header(k))
            forwarded.headers.emplace(k, v);
    if (robot)
        robot->send(std::make_shared<std::string const>(protocol::encode(forwarded)));
    else // perhaps on another node, which counts it against the robot's limit and waits there too
        live.cross_node->send_tunnel(req.device_id, id, req.user_id, protocol::encode(forwarded));

    co_await waiter->wait(started + rt.options.tunnel_timeout);
    if (waiter->failure_)
        co_return fail(waiter->failure_->first, waiter->failure_->second);
    if (!waiter->response_) {
        live.hub.take_tunnel(req.device_id, id); // a late answer will find nobody waiting
        if (!robot)
            live.cross_node->forget_tunnel(id);
        co_return fail(errc::device_timeout, "the robot did not answer within " +
                                                 std::to_string(rt.options.tunnel_timeout.count()) + " s");
    }
    if (body_size(*waiter->response_) > rt.options.tunnel_body_max)
        co_return fail(errc::body_too_large, "the robot's answer is larger than RELAY_TUNNEL_BODY_MAX");
    rt.metrics.registry
        .get_histogram("relay_tunnel_duration_seconds", "Time from a tunnelled request to the robot's answer.")
        .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    rt.metrics.registry
        .get_counter("relay_tunnel_requests_total", "REST-tunnel requests by outcome.", {{"outcome", "ok"}})
        .inc();
    out.response = std::move(waiter->response_);
    std::erase_if(out.response->headers, [](auto const& kv) { return is_stripped_answer_header(kv.first); });
    co_return out;
}

} // namespace relay::server
