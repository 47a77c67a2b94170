// The console's files on their own: lookup by key only (no path is ever resolved on disk),
// validators, content types, reading a folder (RELAY_CONSOLE_DIR), and cmake/embed_files.cmake,
// which builds the copy inside relayd.
#include <relay/server/static_site.hpp>

#include <main/test_files.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

using namespace relay::server;
namespace fs = std::filesystem;

namespace {

/** A fresh folder under the system's temporary directory, removed afterwards. */
struct scratch {
    fs::path path = fs::temp_directory_path() / ("relay-static-site-" + std::to_string(std::random_device{}()));
    scratch() { fs::create_directories(path); }
    ~scratch()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

} // namespace

TEST_CASE("static_site: files are found by their exact key, nothing else")
{
    static_site site;
    site.add("index.html", "<!doctype html>");
    site.add("js/app.js", "export {};");
    CHECK(site.size() == 2);
    REQUIRE(site.find("index.html"));
    CHECK(site.find("index.html")->content == "<!doctype html>");
    CHECK(site.find("js/app.js")->content == "export {};");
    // Every way a path could be spelled to mean another file is just another (unknown) key.
    for (std::string_view key : {"", "/index.html", "./index.html", "../index.html", "js/../index.html",
                                 "%2e%2e/index.html", "js//app.js", "js\\app.js", "js%2fapp.js", "JS/app.js",
                                 "index.html/", "index.htm", "js"}) {
        CAPTURE(key);
        CHECK(site.find(key) == nullptr);
    }
    CHECK(site.find(std::string_view("index.html\0", 11)) == nullptr);
    CHECK(site.find(std::string_view("index.html\0.js", 14)) == nullptr);
}

TEST_CASE("static_site: a strong validator per content, replaced with the file")
{
    static_site site;
    site.add("a.js", "one");
    site.add("b.js", "one");
    auto etag = site.find("a.js")->etag;
    CHECK(etag.size() == 34);
    CHECK(etag.front() == '"');
    CHECK(etag.back() == '"');
    CHECK(etag.find("W/") == std::string::npos);
    CHECK(site.find("b.js")->etag == etag); // same bytes, same validator
    site.add("a.js", "two");
    CHECK(site.size() == 2);
    CHECK(site.find("a.js")->content == "two");
    CHECK(site.find("a.js")->etag != etag);
    CHECK(site.find("a.js")->content_type == "text/javascript; charset=utf-8");
}

TEST_CASE("content_type_for: by extension, octet-stream when unknown")
{
    CHECK(content_type_for("index.html") == "text/html; charset=utf-8");
    CHECK(content_type_for("js/app.js") == "text/javascript; charset=utf-8");
    CHECK(content_type_for("x.mjs") == "text/javascript; charset=utf-8");
    CHECK(content_type_for("style.css") == "text/css; charset=utf-8");
    CHECK(content_type_for("a.json") == "application/json");
    CHECK(content_type_for("icon.svg") == "image/svg+xml");
    CHECK(content_type_for("a.png") == "image/png");
    CHECK(content_type_for("favicon.ico") == "image/x-icon");
    CHECK(content_type_for("app.webmanifest") == "application/manifest+json");
    CHECK(content_type_for("LICENSE.txt") == "text/plain; charset=utf-8");
    CHECK(content_type_for("README.md") == "text/markdown; charset=utf-8");
    // Unknown, bare or case-changed names are not guessed (with nosniff, the browser will not run them).
    for (std::string_view name : {"a.exe", "Makefile", ".js", "js", "INDEX.HTML", "app.js.map", ""}) {
        CAPTURE(name);
        CHECK(content_type_for(name) == "application/octet-stream");
    }
}

TEST_CASE("static_site::from_directory: every file by its relative key; a missing or index-less folder is refused")
{
    scratch dir;
    auto site_dir = dir.path / "site";
    relay::test::write_test_file(site_dir / "index.html", "<!doctype html>");
    relay::test::write_test_file(site_dir / "js" / "views" / "a.js", "a");
    relay::test::write_test_file(site_dir / "empty.txt", "");
    relay::test::write_test_file(dir.path / "outside.txt", "outside");
    std::string why;
    auto site = static_site::from_directory(site_dir, why);
    REQUIRE(site);
    CHECK(why.empty());
    CHECK(site->size() == 3);
    CHECK(site->find("js/views/a.js")->content == "a");
    CHECK(site->find("empty.txt")->content.empty());
    CHECK(site->find("../outside.txt") == nullptr);

    auto missing = static_site::from_directory(dir.path / "nope", why);
    CHECK(!missing);
    CHECK(why.starts_with("cannot read " + (dir.path / "nope").string()));

    fs::create_directories(dir.path / "empty");
    why.clear();
    CHECK(!static_site::from_directory(dir.path / "empty", why));
    CHECK(why == (dir.path / "empty").string() + " holds no index.html");

    relay::test::write_test_file(dir.path / "no-index" / "js" / "index.html", "not at the top");
    why.clear();
    CHECK(!static_site::from_directory(dir.path / "no-index", why));
    CHECK(why == (dir.path / "no-index").string() + " holds no index.html");
}

TEST_CASE("static_site::from_directory: no dotfiles, dot-folders, editor backups or symlinks")
{
    scratch dir;
    auto site_dir = dir.path / "site";
    relay::test::write_test_file(site_dir / "index.html", "<!doctype html>");
    relay::test::write_test_file(site_dir / "js" / "app.js", "app");
    relay::test::write_test_file(site_dir / ".env", "SECRET=1");
    relay::test::write_test_file(site_dir / "js" / ".app.js.swp", "swap");
    relay::test::write_test_file(site_dir / "js" / "app.js~", "backup");
    relay::test::write_test_file(site_dir / "js" / "#app.js#", "autosave");
    relay::test::write_test_file(site_dir / ".git" / "config", "[core]");
    relay::test::write_test_file(site_dir / "js" / ".hidden" / "x.js", "x");
    relay::test::write_test_file(dir.path / "secret.txt", "outside");
    relay::test::write_test_file(dir.path / "elsewhere" / "y.js", "y");
    fs::create_symlink(dir.path / "secret.txt", site_dir / "linked.txt");
    fs::create_directory_symlink(dir.path / "elsewhere", site_dir / "linked-dir");
    std::string why;
    auto site = static_site::from_directory(site_dir, why);
    REQUIRE(site);
    CHECK(why.empty());
    CHECK(site->size() == 2);
    CHECK(site->find("index.html") != nullptr);
    CHECK(site->find("js/app.js")->content == "app");
    for (auto path : {".env", "js/.app.js.swp", "js/app.js~", "js/#app.js#", ".git/config", "js/.hidden/x.js",
                      "linked.txt", "linked-dir/y.js"})
        CHECK_MESSAGE(site->find(path) == nullptr, path);
}

TEST_CASE("embed_files.cmake: every byte of every file, empty files too, rewritten only on change")
{
    scratch dir;
    auto root = dir.path / "site";
    std::string all_bytes;
    for (int i = 0; i < 256; ++i)
        all_bytes += static_cast<char>(i);
    relay::test::write_test_file(root / "bin" / "all.png", all_bytes);
    relay::test::write_test_file(root / "empty.txt", "");
    relay::test::write_test_file(root / "index.html", "<p>\"quoted\" \\ back</p>\n");
    auto output = dir.path / "out.cpp";
    auto command = std::string(RELAY_TEST_CMAKE) + " -DROOT=" + root.string() + " -DOUTPUT=" + output.string() +
                   " -DFUNCTION=test_site -DHEADER=h.hpp -P " + RELAY_TEST_SOURCE_DIR + "/cmake/embed_files.cmake";
    REQUIRE(std::system(command.c_str()) == 0);
    auto generated = relay::test::read_test_file(output);
    // Sorted by key; each file's size excludes the array's terminating extra 0.
    auto bin = generated.find("site->add(\"bin/all.png\", std::string(reinterpret_cast<char const*>(file_0), 256));");
    auto empty = generated.find("site->add(\"empty.txt\", std::string(reinterpret_cast<char const*>(file_1), 0));");
    auto index = generated.find("site->add(\"index.html\", std::string(reinterpret_cast<char const*>(file_2), 23));");
    CHECK(bin != std::string::npos);
    CHECK(empty != std::string::npos);
    CHECK(index != std::string::npos);
    CHECK(bin < empty);
    CHECK(empty < index);
    std::string expected_bytes = "constexpr unsigned char file_0[] = {";
    static char const hex[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i)
        expected_bytes += std::string("0x") + hex[i / 16] + hex[i % 16] + ",";
    expected_bytes += "0};";
    CHECK(generated.find(expected_bytes) != std::string::npos);
    CHECK(generated.find("constexpr unsigned char file_1[] = {0};") != std::string::npos);
    CHECK(generated.find("std::shared_ptr<relay::server::static_site> test_site()") != std::string::npos);

    // Unchanged input leaves the file alone (relayd does not rebuild); a change rewrites it.
    auto const stamp = fs::last_write_time(output);
    fs::last_write_time(output, stamp - std::chrono::hours(1));
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(fs::last_write_time(output) == stamp - std::chrono::hours(1));
    relay::test::write_test_file(root / "empty.txt", "now one");
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(relay::test::read_test_file(output).find("file_1), 7));") != std::string::npos);
}
