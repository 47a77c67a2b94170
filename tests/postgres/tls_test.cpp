// TLS between relayd and PostgreSQL (docs/deploy.md, "A managed database"): a server that takes
// only TLS connections (`hostssl`), with a certificate for 127.0.0.1 signed by a test CA. relayd
// with sslmode=verify-full and that CA comes up and serves; with another CA, or without TLS, it
// refuses to start with one line that says why, and never shows the password.
#include "postgres/relay_on_postgres.hpp"
#include "support/test_pki.hpp"

#include <relay_support/process.hpp>

#include <vector>

using namespace pg_test;

namespace {

/** A PostgreSQL that speaks TLS with the PKI's server certificate and refuses plain TCP. */
pg::server_options tls_only(relay::test::test_pki const& pki)
{
    pg::server_options o;
    o.data_files = {{"server.crt", relay::support::read_text(pki.server_cert)},
                    {"server.key", relay::support::read_text(pki.server_key)}};
    o.config_lines = {"ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"};
    // The unix socket stays for the server's own tools; TCP only through TLS.
    o.hba_conf = "local all all scram-sha-256\n"
                 "hostssl all all 127.0.0.1/32 scram-sha-256\n";
    return o;
}

/** The lines of `output` that contain `text`. */
std::vector<std::string> lines_with(std::string const& output, std::string_view text)
{
    std::vector<std::string> lines;
    for (std::size_t at = 0; (at = output.find(text, at)) != std::string::npos; at = output.find('\n', at)) {
        auto begin = output.rfind('\n', at);
        begin = begin == std::string::npos ? 0 : begin + 1;
        lines.push_back(output.substr(begin, output.find('\n', at) - begin));
    }
    return lines;
}

/** relayd's output says in one line that it cannot open the database, and `reason`. */
void check_refusal(std::string const& output, std::string_view reason)
{
    auto lines = lines_with(output, reason);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("cannot open the database") != std::string::npos);
}

/** Connections of database `db` that use TLS, as the server sees them. */
std::string tls_connections(pg::postgres_server const& server, std::string const& db)
{
    return server.admin_value("postgres", "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                          "WHERE s.ssl AND a.datname = '" + db + "'");
}

} // namespace

TEST_CASE("relayd reaches PostgreSQL over TLS with sslmode=verify-full and the CA that signed the server")
{
    relay::support::temp_dir dir;
    relay::test::test_pki pki(dir.path());
    pg::postgres_server server(tls_only(pki));
    auto const url = server.create_database();
    auto const db = database_name(url);

    SUBCASE("the right CA: relayd comes up and serves a login, over TLS")
    {
        relayd_process relayd(relay_env(url + "?sslmode=verify-full&sslrootcert=" + pki.ca_cert));
        auto account = make_account(relayd.port(), "tls");
        CHECK(login(relayd.port(), account.email).status == 200);
        // The pool's connections are the server's TLS sessions of this database.
        CHECK(tls_connections(server, db) != "0");
        CHECK(server.admin_value("postgres", "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a "
                                             "USING (pid) WHERE NOT s.ssl AND a.datname = '" + db + "'") == "0");
        check_password_not_in(relayd.output(), server);
    }

    SUBCASE("another CA: relayd refuses to start, saying the certificate could not be verified")
    {
        auto [status, output] =
            run_relayd({}, relay_env(url + "?sslmode=verify-full&sslrootcert=" + pki.unknown_ca_cert));
        CAPTURE(output);
        CHECK(status != 0);
        CHECK(output.find("listening") == std::string::npos);
        // libpq's reason, in relayd's one line.
        check_refusal(output, "certificate verify failed");
        check_password_not_in(output, server);
    }

    SUBCASE("without TLS: the server refuses relayd, which does not start")
    {
        auto [status, output] = run_relayd({}, relay_env(url + "?sslmode=disable"));
        CAPTURE(output);
        CHECK(status != 0);
        CHECK(output.find("listening") == std::string::npos);
        // The server's reason: its pg_hba.conf has no entry for an unencrypted connection.
        check_refusal(output, "no encryption");
        check_password_not_in(output, server);
    }
}
