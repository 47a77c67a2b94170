#pragma once
// Reading node messages (routing::cluster): JSON objects from another relay node, read without
// exceptions since Redis sits between the nodes.
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace relay::server {

/** The payload as a JSON object; nullopt when it is not one. */
inline std::optional<boost::json::object> parse_object(std::string_view payload)
{
    boost::system::error_code ec;
    auto v = boost::json::parse(payload, ec);
    if (ec || !v.is_object())
        return std::nullopt;
    return std::move(v.as_object());
}

/** The string at `key`; empty when absent or not a string. */
inline std::string string_field(boost::json::object const& o, std::string_view key)
{
    auto const* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

} // namespace relay::server
