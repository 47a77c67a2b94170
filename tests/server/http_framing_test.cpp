// Request framing (RFC 9112 6.1 and 6.3): a body whose length the relay cannot know for sure is
// never read as the next request. Raw bytes, because no HTTP library sends these on purpose.
#include "support/clients.hpp"
#include "support/fixtures.hpp"
#include "support/relayd_process.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace relay::test;

namespace {

/** How many HTTP answers a byte stream holds. */
std::size_t answers_in(std::string const& bytes)
{
    std::size_t count = 0;
    for (auto at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1))
        ++count;
    return count;
}

/** A request with the given framing headers whose body is a second request, for /metrics. */
std::string smuggling(std::string const& first_line, std::string const& framing)
{
    return first_line + "\r\nHost: relay\r\n" + framing + "\r\n" +
           "GET /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n";
}

} // namespace

TEST_CASE("a Transfer-Encoding other than one final chunked, or with Content-Length, is 400 and closes")
{
    relayd_process relayd(test_env());
    for (std::string framing : {
             "Transfer-Encoding: identity\r\n",
             "Transfer-Encoding: xchunked\r\n",
             "Transfer-Encoding: chunked, identity\r\n",
             "Transfer-Encoding: gzip\r\n",
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
             "Transfer-Encoding: identity\r\nContent-Length: 0\r\n",
             "Content-Length: 0\r\nTransfer-Encoding: identity\r\n",
             "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
         }) {
        CAPTURE(framing);
        auto reply = raw_exchange(relayd.port(), smuggling("GET /health HTTP/1.1", framing));
        CAPTURE(reply.bytes);
        CHECK(reply.bytes.starts_with("HTTP/1.1 400 "));
        CHECK(reply.bytes.find("\"code\":\"BAD_MESSAGE\"") != std::string::npos);
        // One answer, then the connection ends: the body was never served as a request.
        CHECK(answers_in(reply.bytes) == 1);
        CHECK(reply.bytes.find("relay_http_requests_total") == std::string::npos);
        CHECK(reply.closed);
    }
    // A POST is refused the same way before its handler runs.
    auto post = raw_exchange(relayd.port(), smuggling("POST /api/auth/login HTTP/1.1", "Transfer-Encoding: identity\r\n"));
    CHECK(post.bytes.starts_with("HTTP/1.1 400 "));
    CHECK(answers_in(post.bytes) == 1);
    CHECK(post.closed);
}

TEST_CASE("chunked request bodies still work, in any letter case")
{
    relayd_process relayd(test_env());
    std::string body = R"({"email":"nobody@example.com","password":"whatever it is"})";
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    auto reply = raw_exchange(relayd.port(), "POST /api/auth/login HTTP/1.1\r\nHost: relay\r\n"
                                             "Content-Type: application/json\r\nTransfer-Encoding: Chunked\r\n"
                                             "Connection: close\r\n\r\n" +
                                                 std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n");
    CAPTURE(reply.bytes);
    CHECK(reply.bytes.starts_with("HTTP/1.1 401 "));
    CHECK(reply.bytes.find("INVALID_CREDENTIALS") != std::string::npos);
}
