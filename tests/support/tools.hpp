#pragma once
// The programs some tests drive (coturn, nginx, openssl, systemd-analyze, …). scripts/dev.sh
// installs them all; a test whose tool is missing fails and says which package to install,
// so that it can never pass without having run.
#include <string>
#include <string_view>

namespace relay::test {

/** The full path of `program`. When it is not installed, fails the running test case (doctest
 * REQUIRE level) with a message naming `debian_package`. */
std::string require_program(std::string_view program, std::string_view debian_package);

} // namespace relay::test
