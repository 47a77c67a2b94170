#pragma once
// Reading the files a test case is driven by (tests/vectors/…), and writing a test's own, for every suite.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace relay::test {

/** The whole file at `path`; fails the test case if it cannot be opened. */
inline std::string read_test_file(std::filesystem::path const& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/** Writes `content` to `path`, making its folders first (a test's own files). */
inline void write_test_file(std::filesystem::path const& path, std::string const& content)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << content;
    REQUIRE_MESSAGE(out, "cannot write " << path.string());
}

} // namespace relay::test
