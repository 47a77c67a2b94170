#include <relay/robot/local_api.hpp>

#include <relay/protocol/base64.hpp>
#include <relay/protocol/validation.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace relay::robot {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string lower(std::string_view text)
{
    std::string out(text);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Headers that describe one hop, not the message: never passed through.
bool is_hop_by_hop(std::string_view name)
{
    static constexpr std::array<std::string_view, 10> hop = {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer",    "transfer-encoding", "upgrade", "host", "content-length"};
    auto l = lower(name);
    return std::find(hop.begin(), hop.end(), l) != hop.end();
}

bool is_json_type(std::string_view content_type)
{
    auto l = lower(content_type);
    auto semi = l.find(';');
    auto media = l.substr(0, semi);
    while (!media.empty() && media.back() == ' ')
        media.pop_back();
    return media == "application/json" || (media.size() > 5 && media.substr(media.size() - 5) == "+json");
}

protocol::robot_http_response error_response(std::string const& id, unsigned status, std::string_view code,
                                             std::string const& message)
{
    protocol::robot_http_response r;
    r.id = id;
    r.status = status;
    r.headers.emplace("Content-Type", "application/json");
    r.body = boost::json::object{{"error", boost::json::object{{"code", code}, {"message", message}}}};
    return r;
}

// Runs the io_context until the operation started before it completes.
void run(net::io_context& ioc)
{
    ioc.restart();
    ioc.run();
}

} // namespace

std::optional<http_target> parse_http_target(std::string_view url, std::string& why)
{
    namespace urls = boost::urls;
    auto parsed = urls::parse_uri(url);
    if (!parsed || parsed->scheme_id() != urls::scheme::http) {
        why = "only http:// is supported for local services: '" + std::string(url) + "'";
        return std::nullopt;
    }
    // A local service is a name or an IPv4 address; credentials, queries and fragments have no place.
    auto type = parsed->host_type();
    if ((type != urls::host_type::name && type != urls::host_type::ipv4) || parsed->encoded_host().empty() ||
        parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment()) {
        why = "bad host in '" + std::string(url) + "'";
        return std::nullopt;
    }
    http_target t;
    t.host = parsed->host();
    if (parsed->has_port()) {
        // Boost.URL 1.81 reads "host:80x" as port 80 and path "x": such a path is part of the port.
        auto path = parsed->encoded_path();
        auto port = protocol::parse_port(parsed->port());
        if (!port || (!path.empty() && path.front() != '/')) {
            why = "bad port in '" + std::string(url) + "'";
            return std::nullopt;
        }
        t.port = *port;
    }
    t.base_path = parsed->encoded_path();
    while (!t.base_path.empty() && t.base_path.back() == '/')
        t.base_path.pop_back();
    return t;
}

http_result http_call(http_target const& target, std::string const& method, std::string const& path_and_query,
                      std::vector<std::pair<std::string, std::string>> const& headers, std::string const& body,
                      std::chrono::milliseconds timeout, std::size_t max_body)
{
    http_result out;
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::error_code ec;

    auto endpoints = resolver.resolve(target.host, std::to_string(target.port), ec);
    if (ec) {
        out.error = "cannot resolve " + target.host + ": " + ec.message();
        return out;
    }
    // Every step shares one deadline; tcp_stream ends an overdue step with error::timeout.
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [&](beast::error_code e, tcp::endpoint const&) { ec = e; });
    run(ioc);
    if (ec) {
        out.timed_out = ec == beast::error::timeout;
        out.error = "cannot connect to " + target.host + ":" + std::to_string(target.port) + ": " + ec.message();
        return out;
    }

    http::request<http::string_body> req;
    req.method_string(method);
    req.target(path_and_query);
    req.version(11);
    for (auto const& [name, value] : headers)
        req.insert(name, value);
    req.set(http::field::host, target.host + ":" + std::to_string(target.port));
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc);
    if (ec) {
        out.timed_out = ec == beast::error::timeout;
        out.error = "sending the request failed: " + ec.message();
        return out;
    }

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    parser.header_limit(64 * 1024);
    http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run(ioc);
    if (ec) {
        out.timed_out = ec == beast::error::timeout;
        out.too_large = ec == http::error::body_limit;
        out.error = out.too_large ? "the answer is larger than " + std::to_string(max_body) + " bytes"
                                  : "reading the answer failed: " + ec.message();
        return out;
    }
    auto& res = parser.get();
    out.ok = true;
    out.status = res.result_int();
    for (auto const& f : res)
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return out;
}

protocol::robot_http_response forward_to_local_api(http_target const& api, protocol::robot_http_request const& request,
                                                   forward_limits const& limits)
{
    std::vector<std::pair<std::string, std::string>> headers;
    bool has_content_type = false;
    for (auto const& [name, value] : request.headers) {
        if (is_hop_by_hop(name))
            continue;
        has_content_type = has_content_type || lower(name) == "content-type";
        headers.emplace_back(name, value);
    }
    std::string body;
    if (request.body) {
        body = boost::json::serialize(*request.body);
        if (!has_content_type)
            headers.emplace_back("Content-Type", "application/json");
    } else if (request.body_b64) {
        auto bytes = protocol::base64_decode(*request.body_b64);
        if (!bytes)
            return error_response(request.id, 400, "BAD_MESSAGE", "body_b64 is not base64");
        body = std::move(*bytes);
    }
    std::string target = api.base_path + request.path;
    if (!request.query.empty())
        target += "?" + request.query;

    auto answer = http_call(api, request.method, target, headers, body, limits.timeout, limits.max_body);
    if (!answer.ok) {
        if (answer.timed_out)
            return error_response(request.id, 504, "LOCAL_API_TIMEOUT", "the robot's API did not answer in time");
        if (answer.too_large)
            return error_response(request.id, 502, "BODY_TOO_LARGE", answer.error);
        return error_response(request.id, 502, "LOCAL_API_UNREACHABLE", answer.error);
    }

    // The relay refuses an interim (1xx) or non-HTTP status: such an answer is a bad gateway here.
    if (!protocol::is_valid_http_response_status(answer.status))
        return error_response(request.id, 502, "LOCAL_API_BAD_STATUS",
                              "the robot's API answered with status " + std::to_string(answer.status));

    protocol::robot_http_response r;
    r.id = request.id;
    r.status = answer.status;
    std::string content_type;
    for (auto const& [name, value] : answer.headers) {
        // The relay refuses a whole message for one bad header; drop those it would refuse.
        if (is_hop_by_hop(name) || !protocol::is_valid_http_header_name(name) ||
            !protocol::is_valid_http_header_value(value))
            continue;
        if (lower(name) == "content-type")
            content_type = value;
        r.headers[name] = value; // a repeated header keeps its last value
    }
    if (!answer.body.empty() && protocol::http_status_allows_body(r.status)) {
        boost::system::error_code ec;
        boost::json::value parsed;
        if (is_json_type(content_type))
            parsed = boost::json::parse(answer.body, ec);
        if (is_json_type(content_type) && !ec)
            r.body = std::move(parsed);
        else
            r.body_b64 = protocol::base64_encode(answer.body);
    }
    return r;
}

} // namespace relay::robot
