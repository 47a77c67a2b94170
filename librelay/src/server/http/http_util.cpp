#include "server/http/http_util.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <string>

namespace relay::server {

http_response json_response(http::status status, boost::json::value const& body)
{
    http_response res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(body);
    res.prepare_payload();
    return res;
}

http_response error_response(errc code, std::string_view message, std::optional<http::status> status)
{
    boost::json::object err;
    err["code"] = wire_name(code);
    err["message"] = message.empty() ? default_message(code) : message;
    auto st = status.value_or(static_cast<http::status>(http_status(code)));
    return json_response(st, boost::json::object{{"error", std::move(err)}});
}

http_response empty_response(http::status status)
{
    http_response res{status, 11};
    res.prepare_payload();
    return res;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space)
{
    auto valid = boost::urls::make_pct_string_view(in);
    if (!valid)
        return std::nullopt;
    boost::urls::encoding_opts opts;
    opts.space_as_plus = plus_is_space;
    return valid->decode(opts);
}

std::optional<std::string> query_param(std::string_view query, std::string_view name)
{
    // Boost.URL 1.81's parse_query measures its input again with strlen (boostorg/url#757), so
    // on a view into a longer buffer (Beast's request target) the last value runs on past the
    // query: it parses a terminated copy, and the values below are views into that copy.
    std::string const terminated(query);
    auto params = boost::urls::parse_query(terminated);
    if (!params)
        return std::nullopt;
    // Keys are compared as sent: the names relayd reads (`token`, `device_id`) need no escapes.
    for (auto const& p : *params)
        if (std::string_view(p.key) == name)
            return percent_decode(p.value, true);
    return std::nullopt;
}

std::string_view framing_problem(http::request_header<> const& req)
{
    auto [first, last] = req.equal_range(http::field::transfer_encoding);
    if (first == last)
        return {};
    if (req.count(http::field::content_length))
        return "Transfer-Encoding and Content-Length together are not allowed";
    // Every coding of every Transfer-Encoding line, in order; empty list elements do not count.
    std::size_t codings = 0;
    bool chunked = false;
    for (auto it = first; it != last; ++it) {
        std::string_view list(it->value().data(), it->value().size());
        while (!list.empty()) {
            auto comma = list.find(',');
            auto coding = list.substr(0, comma);
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
                coding.remove_prefix(1);
            while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
                coding.remove_suffix(1);
            if (coding.empty())
                continue;
            ++codings;
            chunked = beast::iequals(coding, "chunked");
        }
    }
    if (codings != 1 || !chunked)
        return "the only Transfer-Encoding accepted is a single 'chunked'";
    return {};
}

net::awaitable<void> close_after_answer(beast::tcp_stream& stream)
{
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
        co_return;
    stream.expires_after(std::chrono::seconds(1));
    std::array<char, 2048> sink;
    for (std::size_t left = 1024 * 1024; left > 0;) {
        auto [rec, n] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
        if (rec)
            break; // closed by the peer (eof), or the second is up
        left -= std::min(left, n);
    }
}

std::string_view bearer_token(http_request const& req)
{
    auto it = req.find(http::field::authorization);
    if (it == req.end())
        return {};
    std::string_view v(it->value().data(), it->value().size());
    constexpr std::string_view prefix = "Bearer ";
    if (v.size() <= prefix.size())
        return {};
    // The scheme is case-insensitive (RFC 7235).
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(v[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
            return {};
    return v.substr(prefix.size());
}

} // namespace relay::server
