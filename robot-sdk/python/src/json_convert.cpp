#include "json_convert.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <cmath>
#include <string>

namespace relay::python {

namespace py = pybind11;
namespace json = boost::json;

namespace {

// Deep enough for any real message; stops a self-containing list from recursing forever.
constexpr int max_depth = 64;

json::value convert(py::handle object, int depth)
{
    if (depth > max_depth)
        throw py::value_error("the value is nested too deeply (or contains itself) to be JSON");
    if (object.is_none())
        return nullptr;
    // bool before int: True is an int in Python.
    if (py::isinstance<py::bool_>(object))
        return object.cast<bool>();
    if (py::isinstance<py::int_>(object)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(object.ptr(), &overflow);
        if (overflow == 0)
            return static_cast<std::int64_t>(v);
        if (overflow > 0) {
            unsigned long long u = PyLong_AsUnsignedLongLong(object.ptr());
            if (!PyErr_Occurred())
                return static_cast<std::uint64_t>(u);
            PyErr_Clear();
        }
        throw py::value_error("an int outside the 64-bit range cannot be sent as JSON");
    }
    if (py::isinstance<py::float_>(object)) {
        double d = object.cast<double>();
        if (!std::isfinite(d))
            throw py::value_error("NaN and infinity cannot be sent as JSON");
        return d;
    }
    if (py::isinstance<py::str>(object))
        return json::string(object.cast<std::string>());
    if (py::isinstance<py::dict>(object)) {
        json::object out;
        for (auto item : py::reinterpret_borrow<py::dict>(object)) {
            if (!py::isinstance<py::str>(item.first))
                throw py::type_error("JSON object keys must be str, not " +
                                     std::string(py::str(py::type::of(item.first).attr("__name__"))));
            out[item.first.cast<std::string>()] = convert(item.second, depth + 1);
        }
        return out;
    }
    if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
        json::array out;
        for (auto item : object)
            out.push_back(convert(item, depth + 1));
        return out;
    }
    throw py::type_error("a " + std::string(py::str(py::type::of(object).attr("__name__"))) +
                         " cannot be sent as JSON (use dict, list, str, int, float, bool or None)");
}

} // namespace

py::object to_python(json::value const& value)
{
    switch (value.kind()) {
    case json::kind::null:
        return py::none();
    case json::kind::bool_:
        return py::bool_(value.get_bool());
    case json::kind::int64:
        return py::int_(value.get_int64());
    case json::kind::uint64:
        return py::int_(value.get_uint64());
    case json::kind::double_:
        return py::float_(value.get_double());
    case json::kind::string: {
        auto const& s = value.get_string();
        return py::str(s.data(), s.size());
    }
    case json::kind::array: {
        py::list out;
        for (auto const& v : value.get_array())
            out.append(to_python(v));
        return out;
    }
    case json::kind::object: {
        py::dict out;
        for (auto const& [key, v] : value.get_object())
            out[py::str(key.data(), key.size())] = to_python(v);
        return out;
    }
    }
    return py::none();
}

json::value from_python(py::handle object)
{
    return convert(object, 0);
}

} // namespace relay::python
