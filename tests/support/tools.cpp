#include "support/tools.hpp"

#include <relay_support/process.hpp>

#include <doctest/doctest.h>

namespace relay::test {

std::string require_program(std::string_view program, std::string_view debian_package)
{
    auto path = support::find_program(program);
    if (!path)
        FAIL(program << " is not installed: apt-get install " << debian_package
                     << " (scripts/dev.sh test installs every tool the tests use)");
    return *path;
}

} // namespace relay::test
