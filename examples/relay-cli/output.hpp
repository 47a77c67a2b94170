#pragma once
// How relay-cli shows things: indented JSON for people, one compact line for scripts.
#include <boost/json/value.hpp>

#include <string>

namespace relay::cli {

/** JSON indented by two spaces. */
std::string pretty(boost::json::value const& value);

/** A string field, or "" when absent or not a string. */
std::string field(boost::json::value const& object, char const* key);

/** A random id for messages this client sends ("cli-" and 12 hex digits). */
std::string make_message_id();

} // namespace relay::cli
