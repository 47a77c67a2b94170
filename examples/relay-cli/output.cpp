#include "output.hpp"

#include <boost/json/serialize.hpp>

#include <random>

namespace relay::cli {
namespace {

void write(std::string& out, boost::json::value const& v, int depth)
{
    auto indent = [&](int d) { out.append(static_cast<std::size_t>(d) * 2, ' '); };
    if (auto* o = v.if_object(); o && !o->empty()) {
        out += "{\n";
        bool first = true;
        for (auto const& [k, item] : *o) {
            if (!first)
                out += ",\n";
            first = false;
            indent(depth + 1);
            out += boost::json::serialize(boost::json::value(k));
            out += ": ";
            write(out, item, depth + 1);
        }
        out += "\n";
        indent(depth);
        out += "}";
    } else if (auto* a = v.if_array(); a && !a->empty()) {
        out += "[\n";
        bool first = true;
        for (auto const& item : *a) {
            if (!first)
                out += ",\n";
            first = false;
            indent(depth + 1);
            write(out, item, depth + 1);
        }
        out += "\n";
        indent(depth);
        out += "]";
    } else {
        out += boost::json::serialize(v);
    }
}

} // namespace

std::string pretty(boost::json::value const& value)
{
    std::string out;
    write(out, value, 0);
    return out;
}

std::string field(boost::json::value const& object, char const* key)
{
    if (auto* o = object.if_object())
        if (auto* v = o->if_contains(key); v && v->is_string())
            return std::string(v->as_string());
    return {};
}

std::string make_message_id()
{
    std::random_device rd;
    std::uniform_int_distribution<int> hex(0, 15);
    std::string id = "cli-";
    for (int i = 0; i < 12; ++i)
        id += "0123456789abcdef"[hex(rd)];
    return id;
}

} // namespace relay::cli
