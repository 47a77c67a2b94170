// Boost.JSON compiled into the fuzzer itself, so that the sanitizers and the coverage
// instrumentation see inside the parser too.
#include <boost/json/src.hpp>
