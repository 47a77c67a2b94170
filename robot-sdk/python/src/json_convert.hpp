#pragma once
// The one place where Boost.JSON values and Python objects are converted into each other.
#include <pybind11/pybind11.h>

#include <boost/json/value.hpp>

namespace relay::python {

/** A JSON value as Python: dict, list, str, int, float, bool or None. */
pybind11::object to_python(boost::json::value const& value);

/**
 * A Python value as JSON: None, bool, int (64-bit), float (finite), str, and lists, tuples and
 * dicts with str keys of those. Raises TypeError or ValueError (as pybind11 exceptions) for
 * anything else; the caller is the robot's own program, not untrusted input.
 */
boost::json::value from_python(pybind11::handle object);

} // namespace relay::python
