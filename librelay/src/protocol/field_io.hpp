#pragma once
// Internal to the protocol area: the one piece of code that moves message fields between JSON
// and structs. Each message lists its fields once, in a `describe(io, m)` template beside its
// conversions; a `reader` runs that list to fill a struct from JSON (stopping at the first bad
// field and saying which and why), a `writer` runs it to build JSON from a struct. Both
// directions come from the same list, so they cannot drift apart.
#include <relay/protocol/app_inbound.hpp>
#include <relay/protocol/app_outbound.hpp>
#include <relay/protocol/base64.hpp>
#include <relay/protocol/common.hpp>
#include <relay/protocol/device_inbound.hpp>
#include <relay/protocol/device_outbound.hpp>
#include <relay/protocol/validation.hpp>
#include <relay/protocol/webrtc.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace relay::protocol::detail {

namespace json = boost::json;

inline json::string_view to_json_view(std::string_view s) noexcept
{
    return {s.data(), s.size()};
}

/** What a string field must satisfy beyond being a string; `requirement` completes "must be …". */
struct string_rule {
    bool (*check)(std::string_view) noexcept = nullptr;
    std::string_view requirement;
};

namespace rules {
inline constexpr string_rule any{};
inline constexpr string_rule non_empty{+[](std::string_view s) noexcept { return !s.empty(); },
                                       "a non-empty string"};
inline constexpr string_rule device_id{&is_valid_device_id,
                                       "a device id: 1 to 64 characters from A-Z a-z 0-9 . _ -, not . or .."};
inline constexpr string_rule event_name{&is_valid_event_name, "an event name: 1 to 64 characters from a-z 0-9 . _ -"};
inline constexpr string_rule message_id{&is_valid_message_id,
                                        "a non-empty string of at most 128 bytes without control characters"};
inline constexpr string_rule session_id{&is_valid_session_id,
                                        "a session id: 1 to 128 characters from A-Z a-z 0-9 . _ -"};
inline constexpr string_rule http_method{&is_valid_http_method, "an HTTP method such as GET"};
inline constexpr string_rule http_path{&is_valid_http_path,
                                       "a path starting with '/' without spaces, control characters, '?' or '#'"};
inline constexpr string_rule http_query{&is_valid_http_query,
                                        "a query string without spaces, control characters or '#'"};
inline constexpr string_rule base64{&is_valid_base64, "standard base64 with '=' padding"};
} // namespace rules

/** The names of an enum on the wire, one table per enum (to_string/from_string use it too). */
template <class E> struct enum_names;

template <> struct enum_names<role> {
    static constexpr std::array<std::pair<role, std::string_view>, 3> values{
        {{role::viewer, "viewer"}, {role::operator_, "operator"}, {role::owner, "owner"}}};
};
template <> struct enum_names<media> {
    static constexpr std::array<std::pair<media, std::string_view>, 3> values{
        {{media::video, "video"}, {media::audio, "audio"}, {media::both, "both"}}};
};
template <> struct enum_names<quality> {
    static constexpr std::array<std::pair<quality, std::string_view>, 4> values{
        {{quality::low, "low"}, {quality::medium, "medium"}, {quality::high, "high"}, {quality::auto_, "auto"}}};
};
template <> struct enum_names<closed_by> {
    static constexpr std::array<std::pair<closed_by, std::string_view>, 3> values{
        {{closed_by::app, "app"}, {closed_by::robot, "robot"}, {closed_by::relay, "relay"}}};
};
template <> struct enum_names<connection_type> {
    static constexpr std::array<std::pair<connection_type, std::string_view>, 4> values{
        {{connection_type::host, "host"},
         {connection_type::srflx, "srflx"},
         {connection_type::prflx, "prflx"},
         {connection_type::relay, "relay"}}};
};
template <> struct enum_names<stats_state> {
    static constexpr std::array<std::pair<stats_state, std::string_view>, 2> values{
        {{stats_state::connected, "connected"}, {stats_state::failed, "failed"}}};
};
template <> struct enum_names<sdp_type> {
    static constexpr std::array<std::pair<sdp_type, std::string_view>, 4> values{
        {{sdp_type::offer, "offer"},
         {sdp_type::pranswer, "pranswer"},
         {sdp_type::answer, "answer"},
         {sdp_type::rollback, "rollback"}}};
};

template <class E> constexpr std::string_view enum_to_string(E value) noexcept
{
    for (auto const& [e, name] : enum_names<E>::values)
        if (e == value)
            return name;
    return {};
}

template <class E> constexpr std::optional<E> enum_from_string(std::string_view text) noexcept
{
    for (auto const& [e, name] : enum_names<E>::values)
        if (name == text)
            return e;
    return std::nullopt;
}

/** "one of video, audio, both", for error messages. */
template <class E> std::string enum_choices()
{
    std::string out = "one of ";
    bool first = true;
    for (auto const& entry : enum_names<E>::values) {
        if (!first)
            out += ", ";
        out += entry.second;
        first = false;
    }
    return out;
}

/** The first problem a reader found: the field's path (e.g. "sdp.type") and a sentence. */
struct field_error {
    std::string field;
    std::string message;
};

class reader;
class writer;

/** The struct a describe() of this io works on: mutable for reading, const for writing. */
template <class Io, class T> using io_target = std::conditional_t<Io::writes, T const, T>;

/** Nested objects (and every message) have a field list callable through these two. */
template <class T>
concept has_fields = requires(reader& r, writer& w, T& t, T const& ct) {
    read_fields(r, t);
    write_fields(w, ct);
};

/**
 * Fills a struct from a JSON object. Every method is a no-op once an error is recorded, so a
 * describe() just lists its fields and the first bad one wins.
 */
class reader {
public:
    static constexpr bool writes = false;

    reader(json::object const& obj, std::optional<field_error>& error, std::string prefix = {})
        : obj_(obj), error_(error), prefix_(std::move(prefix))
    {
    }

    bool failed() const noexcept { return error_.has_value(); }

    /** A required field; JSON null is ill-typed unless T is json::value. */
    template <class T> void field(std::string_view key, T& out, string_rule rule = rules::any)
    {
        if (failed())
            return;
        if (auto const* v = find_required(key, "is required"))
            read(*v, out, path(key), rule);
    }

    /** An optional field: absent or null is nullopt, except that a json::value keeps null. */
    template <class T> void field(std::string_view key, std::optional<T>& out, string_rule rule = rules::any)
    {
        if (failed())
            return;
        out.reset();
        auto const* v = obj_.if_contains(to_json_view(key));
        if (!v || (v->is_null() && !std::is_same_v<T, json::value>))
            return;
        read(*v, out.emplace(), path(key), rule);
    }

    /** Read like an optional field; the writer sends null instead of leaving it out. */
    template <class T> void nullable(std::string_view key, std::optional<T>& out, string_rule rule = rules::any)
    {
        field(key, out, rule);
    }

    /** Must be present; null is a meaningful value (nullopt). */
    template <class T>
    void required_nullable(std::string_view key, std::optional<T>& out, string_rule rule = rules::any)
    {
        if (failed())
            return;
        out.reset();
        auto const* v = find_required(key, "is required (null is allowed)");
        if (v && !v->is_null())
            read(*v, out.emplace(), path(key), rule);
    }

    /** Absent or null means `fallback`; the writer always sends the field. */
    template <class T> void defaulted(std::string_view key, T& out, T fallback, string_rule rule = rules::any)
    {
        if (failed())
            return;
        auto const* v = obj_.if_contains(to_json_view(key));
        if (!v || v->is_null()) {
            out = std::move(fallback);
            return;
        }
        read(*v, out, path(key), rule);
    }

    /** A required list of strings that may also arrive as a single string. */
    void one_or_many(std::string_view key, std::vector<std::string>& out, string_rule rule = rules::any)
    {
        if (failed())
            return;
        auto const* v = find_required(key, "is required");
        if (!v)
            return;
        if (v->is_string()) {
            out.assign(1, std::string());
            read(*v, out.front(), path(key), rule);
            return;
        }
        if (!v->is_array()) {
            complain(path(key), "must be a string or an array of strings");
            return;
        }
        read(*v, out, path(key), rule);
    }

    /** A rule across fields: when `ok` is false, field `key` gets "field 'key' <complaint>". */
    void check(bool ok, std::string_view key, std::string_view complaint)
    {
        if (!failed() && !ok)
            complain(path(key), complaint);
    }

private:
    /** The value of field `key`; nullptr when it is absent, which is recorded as `complaint`. */
    json::value const* find_required(std::string_view key, std::string_view complaint)
    {
        auto const* v = obj_.if_contains(to_json_view(key));
        if (!v)
            complain(path(key), complaint);
        return v;
    }

    std::string path(std::string_view key) const
    {
        std::string p = prefix_;
        p += key;
        return p;
    }

    bool complain(std::string const& field, std::string_view complaint)
    {
        std::string message = "field '";
        message += field;
        message += "' ";
        message += complaint;
        error_ = field_error{field, std::move(message)};
        return false;
    }

    bool must_be(std::string const& field, std::string_view what)
    {
        std::string complaint = "must be ";
        complaint += what;
        return complain(field, complaint);
    }

    bool read(json::value const& v, std::string& out, std::string const& p, string_rule rule)
    {
        if (!v.is_string())
            return must_be(p, rule.requirement.empty() ? "a string" : rule.requirement);
        std::string_view const s = v.get_string();
        if (rule.check && !rule.check(s))
            return must_be(p, rule.requirement);
        out.assign(s.data(), s.size());
        return true;
    }

    bool read(json::value const& v, bool& out, std::string const& p, string_rule)
    {
        if (!v.is_bool())
            return must_be(p, "true or false");
        out = v.get_bool();
        return true;
    }

    template <std::integral T>
        requires(!std::same_as<T, bool>)
    bool read(json::value const& v, T& out, std::string const& p, string_rule)
    {
        using limits = std::numeric_limits<T>;
        bool in_range = false;
        if (v.is_int64()) {
            std::int64_t const n = v.get_int64();
            in_range = std::in_range<T>(n);
            if (in_range)
                out = static_cast<T>(n);
        } else if (v.is_uint64()) {
            std::uint64_t const n = v.get_uint64();
            in_range = std::in_range<T>(n);
            if (in_range)
                out = static_cast<T>(n);
        } else if (v.is_double()) {
            // Some encoders write every number as a double (42.0); accept those that are integers.
            double const d = v.get_double();
            constexpr bool max_exact = limits::digits <= std::numeric_limits<double>::digits;
            double const hi = static_cast<double>(limits::max());
            in_range = std::isfinite(d) && std::trunc(d) == d && d >= static_cast<double>(limits::min())
                    && (max_exact ? d <= hi : d < hi);
            if (in_range)
                out = static_cast<T>(d);
        }
        if (in_range)
            return true;
        if constexpr (std::is_unsigned_v<T> && limits::max() == std::numeric_limits<std::uint64_t>::max())
            return must_be(p, "a non-negative integer");
        else if constexpr (std::is_signed_v<T> && limits::max() == std::numeric_limits<std::int64_t>::max())
            return must_be(p, "an integer");
        else
            return must_be(p, "an integer from " + std::to_string(limits::min()) + " to "
                                  + std::to_string(limits::max()));
    }

    bool read(json::value const& v, double& out, std::string const& p, string_rule)
    {
        if (v.is_int64())
            out = static_cast<double>(v.get_int64());
        else if (v.is_uint64())
            out = static_cast<double>(v.get_uint64());
        else if (v.is_double() && std::isfinite(v.get_double()))
            out = v.get_double();
        else
            return must_be(p, "a number");
        return true;
    }

    template <class E>
        requires std::is_enum_v<E>
    bool read(json::value const& v, E& out, std::string const& p, string_rule)
    {
        std::optional<E> e;
        if (v.is_string())
            e = enum_from_string<E>(v.get_string());
        if (!e)
            return must_be(p, enum_choices<E>());
        out = *e;
        return true;
    }

    bool read(json::value const& v, relay::errc& out, std::string const& p, string_rule)
    {
        std::optional<relay::errc> code;
        if (v.is_string())
            code = errc_from_wire_name(v.get_string());
        if (!code)
            return must_be(p, "an error code of the protocol, such as BAD_MESSAGE");
        out = *code;
        return true;
    }

    bool read(json::value const& v, timestamp& out, std::string const& p, string_rule)
    {
        std::optional<timestamp> t;
        if (v.is_string())
            t = parse_timestamp(v.get_string());
        if (!t)
            return must_be(p, "a UTC timestamp like 2026-11-21T20:15:03.123Z");
        out = *t;
        return true;
    }

    bool read(json::value const& v, json::value& out, std::string const&, string_rule)
    {
        // Payloads outlive the parsed document: copy them into the default resource.
        out = json::value(v, json::storage_ptr());
        return true;
    }

    bool read(json::value const& v, json::object& out, std::string const& p, string_rule)
    {
        if (!v.is_object())
            return must_be(p, "an object");
        out = json::object(v.get_object(), json::storage_ptr());
        return true;
    }

    bool read(json::value const& v, http_headers& out, std::string const& p, string_rule)
    {
        if (!v.is_object())
            return must_be(p, "an object of header names to strings");
        out.clear();
        for (auto const& entry : v.get_object()) {
            std::string_view const name = entry.key();
            if (!is_valid_http_header_name(name))
                return complain(p, "contains an invalid header name (header names are HTTP tokens)");
            std::string const value_path = p + "." + std::string(name);
            if (!entry.value().is_string())
                return must_be(value_path, "a string");
            std::string_view const value = entry.value().get_string();
            if (!is_valid_http_header_value(value))
                return must_be(value_path, "a header value without control characters");
            out.insert_or_assign(std::string(name), std::string(value));
        }
        return true;
    }

    template <class T> bool read(json::value const& v, std::vector<T>& out, std::string const& p, string_rule rule)
    {
        if (!v.is_array())
            return must_be(p, "an array");
        auto const& array = v.get_array();
        out.clear();
        out.reserve(array.size());
        for (std::size_t i = 0; i < array.size(); ++i) {
            out.emplace_back();
            if (!read(array[i], out.back(), p + "[" + std::to_string(i) + "]", rule))
                return false;
        }
        return true;
    }

    template <has_fields T> bool read(json::value const& v, T& out, std::string const& p, string_rule)
    {
        if (!v.is_object())
            return must_be(p, "an object");
        reader nested(v.get_object(), error_, p + ".");
        read_fields(nested, out);
        return !failed();
    }

    json::object const& obj_;
    std::optional<field_error>& error_;
    std::string prefix_;
};

/** Builds a JSON object from a struct, in the order of its describe(). */
class writer {
public:
    static constexpr bool writes = true;

    explicit writer(json::object& obj) noexcept : obj_(obj) {}

    template <class T> void field(std::string_view key, T const& v, string_rule = rules::any) { put(key, make(v)); }

    template <class T> void field(std::string_view key, std::optional<T> const& v, string_rule = rules::any)
    {
        if (v)
            put(key, make(*v));
    }

    template <class T> void nullable(std::string_view key, std::optional<T> const& v, string_rule = rules::any)
    {
        put(key, v ? make(*v) : json::value(nullptr, obj_.storage()));
    }

    template <class T>
    void required_nullable(std::string_view key, std::optional<T> const& v, string_rule rule = rules::any)
    {
        nullable(key, v, rule);
    }

    template <class T> void defaulted(std::string_view key, T const& v, T const&, string_rule = rules::any)
    {
        put(key, make(v));
    }

    void one_or_many(std::string_view key, std::vector<std::string> const& v, string_rule = rules::any)
    {
        put(key, make(v));
    }

    void check(bool, std::string_view, std::string_view) const noexcept {}

private:
    void put(std::string_view key, json::value v) { obj_.emplace(to_json_view(key), std::move(v)); }

    json::value make(std::string const& s) const { return json::value(to_json_view(s), obj_.storage()); }
    json::value make(bool b) const { return json::value(b, obj_.storage()); }

    template <std::integral T>
        requires(!std::same_as<T, bool>)
    json::value make(T n) const
    {
        if constexpr (std::is_signed_v<T>)
            return json::value(static_cast<std::int64_t>(n), obj_.storage());
        else
            return json::value(static_cast<std::uint64_t>(n), obj_.storage());
    }

    json::value make(double d) const
    {
        // Infinity and NaN have no JSON form.
        if (!std::isfinite(d))
            return json::value(nullptr, obj_.storage());
        // Whole numbers go out as integers (12, not 1.2E1), so they read back as written.
        if (std::trunc(d) == d && std::abs(d) < 9.0e15)
            return json::value(static_cast<std::int64_t>(d), obj_.storage());
        return json::value(d, obj_.storage());
    }

    template <class E>
        requires std::is_enum_v<E>
    json::value make(E e) const
    {
        return make_string(enum_to_string(e));
    }

    json::value make(relay::errc code) const { return make_string(wire_name(code)); }
    json::value make(timestamp t) const { return make_string(format_timestamp(t)); }
    json::value make(json::value const& v) const { return json::value(v, obj_.storage()); }
    json::value make(json::object const& o) const { return json::value(json::object(o, obj_.storage())); }

    json::value make(http_headers const& headers) const
    {
        json::object out(obj_.storage());
        for (auto const& [name, value] : headers)
            out.emplace(to_json_view(name), to_json_view(value));
        return out;
    }

    template <class T> json::value make(std::vector<T> const& items) const
    {
        json::array out(obj_.storage());
        out.reserve(items.size());
        for (auto const& item : items)
            out.push_back(make(item));
        return out;
    }

    template <has_fields T> json::value make(T const& nested) const
    {
        json::object out(obj_.storage());
        writer w(out);
        write_fields(w, nested);
        return out;
    }

    json::value make_string(std::string_view s) const { return json::value(to_json_view(s), obj_.storage()); }

    json::object& obj_;
};

/** A message, as opposed to a nested object: it has a wire type. */
template <class T>
concept message = requires {
    { T::type_name } -> std::convertible_to<std::string_view>;
};

/** Fills `out` from `obj`; the first bad field when there is one. */
template <class T> std::optional<field_error> read_object(json::object const& obj, T& out)
{
    std::optional<field_error> error;
    reader r(obj, error);
    read_fields(r, out);
    return error;
}

/** Writes `m` into `obj`, a message's "type" first. */
template <class T> void write_object(json::object& obj, T const& m)
{
    if constexpr (message<T>)
        obj.emplace("type", to_json_view(T::type_name));
    writer w(obj);
    write_fields(w, m);
}

/** `body` (any JSON) or `body_b64` (base64), never both, of the four tunnelled HTTP messages. */
template <class Io, class M> void describe_http_body(Io& io, M& m)
{
    io.field("body", m.body);
    io.field("body_b64", m.body_b64, rules::base64);
    io.check(!(m.body && m.body_b64), "body_b64", "cannot be combined with field 'body'");
}

/** The request of the REST tunnel, after its ids: the same rules on the app's leg and the robot's. */
template <class Io, class M> void describe_http_request(Io& io, M& m)
{
    io.field("method", m.method, rules::http_method);
    io.field("path", m.path, rules::http_path);
    io.defaulted("query", m.query, std::string(), rules::http_query);
    io.defaulted("headers", m.headers, http_headers());
    describe_http_body(io, m);
}

/** A command's outcome, after its ids: the robot's command_result and the app's copy of it. */
template <class Io, class M> void describe_command_outcome(Io& io, M& m)
{
    io.field("ok", m.ok);
    io.field("data", m.data);
    io.field("error", m.error);
}

/** The answer of the REST tunnel, after its ids: the same rules on the robot's leg and the app's. */
template <class Io, class M> void describe_http_response(Io& io, M& m)
{
    io.field("status", m.status);
    io.check(is_valid_http_response_status(m.status), "status", "must be a final HTTP status from 200 to 599");
    io.defaulted("headers", m.headers, http_headers());
    describe_http_body(io, m);
    // An empty body_b64 is no body: a robot answering 204 with zero bytes has said nothing wrong.
    io.check(http_status_allows_body(m.status) || (!m.body && (!m.body_b64 || m.body_b64->empty())),
             m.body ? "body" : "body_b64", "cannot be sent with status 204 or 304");
}

/** The body of every try_value_to_tag overload. */
template <class T> boost::system::result<T> read_json(json::value const& jv)
{
    auto const* obj = jv.if_object();
    if (!obj)
        return make_error_code(relay::errc::bad_message);
    if constexpr (message<T>) {
        // A "type" that names another message is a mistake, not an unknown field.
        if (auto const* type = obj->if_contains("type"); type && !(type->is_string() && type->get_string() == to_json_view(T::type_name)))
            return make_error_code(relay::errc::bad_message);
    }
    T out{};
    if (read_object(*obj, out))
        return make_error_code(relay::errc::bad_message);
    return out;
}

/** The body of every value_from_tag overload. */
template <class T> void write_json(json::value& jv, T const& m)
{
    write_object(jv.emplace_object(), m);
}

// read_fields / write_fields of every struct, defined beside each describe() by
// RELAY_PROTOCOL_DEFINE_CONVERSIONS; declared here so that any file may nest or decode any type.
#define RELAY_PROTOCOL_DECLARE_FIELDS(T)                                                                            \
    void read_fields(reader& r, T& m);                                                                              \
    void write_fields(writer& w, T const& m);

RELAY_PROTOCOL_DECLARE_FIELDS(ping)
RELAY_PROTOCOL_DECLARE_FIELDS(pong)
RELAY_PROTOCOL_DECLARE_FIELDS(error)
RELAY_PROTOCOL_DECLARE_FIELDS(session_description)
RELAY_PROTOCOL_DECLARE_FIELDS(ice_candidate)
RELAY_PROTOCOL_DECLARE_FIELDS(ice_server)
RELAY_PROTOCOL_DECLARE_FIELDS(ice_credentials)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_offer)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_answer)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_ice)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_close)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_close_notice)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_stats)
RELAY_PROTOCOL_DECLARE_FIELDS(app_auth)
RELAY_PROTOCOL_DECLARE_FIELDS(app_command)
RELAY_PROTOCOL_DECLARE_FIELDS(app_webrtc_request)
RELAY_PROTOCOL_DECLARE_FIELDS(app_http_request)
RELAY_PROTOCOL_DECLARE_FIELDS(resume)
RELAY_PROTOCOL_DECLARE_FIELDS(device_summary)
RELAY_PROTOCOL_DECLARE_FIELDS(app_auth_ok)
RELAY_PROTOCOL_DECLARE_FIELDS(auth_renewed)
RELAY_PROTOCOL_DECLARE_FIELDS(ack)
RELAY_PROTOCOL_DECLARE_FIELDS(command_result)
RELAY_PROTOCOL_DECLARE_FIELDS(event)
RELAY_PROTOCOL_DECLARE_FIELDS(resumed)
RELAY_PROTOCOL_DECLARE_FIELDS(webrtc_credentials)
RELAY_PROTOCOL_DECLARE_FIELDS(http_response)
RELAY_PROTOCOL_DECLARE_FIELDS(device_auth)
RELAY_PROTOCOL_DECLARE_FIELDS(hello)
RELAY_PROTOCOL_DECLARE_FIELDS(robot_event)
RELAY_PROTOCOL_DECLARE_FIELDS(robot_command_result)
RELAY_PROTOCOL_DECLARE_FIELDS(robot_http_response)
RELAY_PROTOCOL_DECLARE_FIELDS(turn_credentials_request)
RELAY_PROTOCOL_DECLARE_FIELDS(auth_challenge)
RELAY_PROTOCOL_DECLARE_FIELDS(device_auth_ok)
RELAY_PROTOCOL_DECLARE_FIELDS(robot_command)
RELAY_PROTOCOL_DECLARE_FIELDS(robot_webrtc_request)
RELAY_PROTOCOL_DECLARE_FIELDS(robot_http_request)
RELAY_PROTOCOL_DECLARE_FIELDS(turn_credentials)
RELAY_PROTOCOL_DECLARE_FIELDS(event_ack)

#undef RELAY_PROTOCOL_DECLARE_FIELDS

} // namespace relay::protocol::detail

// Defines, for a struct whose `describe(io, m)` template is visible, its read_fields and
// write_fields and its Boost.JSON tag_invoke pair. Use at relay::protocol namespace scope.
#define RELAY_PROTOCOL_DEFINE_CONVERSIONS(T)                                                                        \
    void detail::read_fields(detail::reader& r, T& m) { describe(r, m); }                                          \
    void detail::write_fields(detail::writer& w, T const& m) { describe(w, m); }                                   \
    void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, T const& m) { detail::write_json(jv, m); } \
    boost::system::result<T> tag_invoke(boost::json::try_value_to_tag<T>, boost::json::value const& jv)           \
    {                                                                                                               \
        return detail::read_json<T>(jv);                                                                            \
    }
