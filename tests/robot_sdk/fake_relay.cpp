#include "fake_relay.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay_support/websocket_reader.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace relay::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

using support::run_until;

template <class Stream> class session final : public fake_robot_session {
public:
    template <class... Args>
    session(net::io_context& ioc, Args&&... args) : ws_(std::forward<Args>(args)...), reader_(ioc, ws_)
    {
        ws_.read_message_max(64 * 1024 * 1024);
    }

    Stream& ws() { return ws_; }

    void send(json::value const& message) override
    {
        ws_.text(true);
        ws_.write(net::buffer(json::serialize(message)));
    }

    std::optional<json::value> read(std::chrono::milliseconds timeout) override
    {
        auto r = reader_.read(timeout);
        if (r.what != support::websocket_read::result::message)
            return std::nullopt;
        return json::parse(r.text);
    }

    void close(std::uint16_t code) override { reader_.close(code, std::chrono::seconds(5)); }

private:
    Stream ws_;
    support::websocket_reader<Stream> reader_;
};

using plain_session = session<websocket::stream<beast::tcp_stream>>;
using tls_session = session<websocket::stream<beast::ssl_stream<beast::tcp_stream>>>;

} // namespace

json::value fake_robot_session::expect(std::string const& type, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return nullptr;
        auto m = read(left);
        if (!m)
            return nullptr;
        if (auto* o = m->if_object())
            if (auto* t = o->if_contains("type"); t && t->is_string() && t->as_string() == type)
                return *m;
    }
}

struct fake_relay::impl {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::unique_ptr<net::ssl::context> tls;

    template <class Session>
    std::unique_ptr<fake_robot_session> finish(std::unique_ptr<Session> s, std::string const& device_id,
                                               std::string const& secret, std::chrono::milliseconds timeout)
    {
        bool done = false;
        beast::error_code ec;
        s->ws().async_accept([&](beast::error_code e) {
            ec = e;
            done = true;
        });
        if (!run_until(ioc, done, timeout) || ec)
            return nullptr;
        auto nonce = relay::auth::make_nonce();
        s->send(json::object{{"type", "auth_challenge"}, {"nonce", nonce}});
        auto answer = s->read(timeout);
        if (!answer || !answer->is_object() || answer->as_object().if_contains("type") == nullptr ||
            answer->at("type") != "auth")
            return nullptr;
        bool good = answer->at("device_id") == json::value(device_id) &&
                    relay::auth::verify_device_signature(secret, nonce, device_id,
                                                         std::string(answer->at("signature").as_string()));
        if (!good) {
            s->send(json::object{{"type", "error"}, {"code", "UNAUTHORIZED"}, {"message", "authentication failed"}});
            s->close(4401);
            return nullptr;
        }
        s->send(json::object{{"type", "auth_ok"}, {"protocol", 1}, {"device_id", device_id}});
        return s;
    }
};

fake_relay::fake_relay(test_certificate const* tls) : impl_(std::make_unique<impl>())
{
    if (tls) {
        impl_->tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
        impl_->tls->use_certificate_chain_file(tls->cert_path);
        impl_->tls->use_private_key_file(tls->key_path, net::ssl::context::pem);
    }
}

fake_relay::~fake_relay() = default;

std::uint16_t fake_relay::port() const
{
    return impl_->acceptor.local_endpoint().port();
}

std::unique_ptr<fake_robot_session> fake_relay::accept_robot(std::string const& device_id, std::string const& secret,
                                                             std::chrono::milliseconds timeout)
{
    auto& d = *impl_;
    tcp::socket socket(d.ioc);
    bool done = false;
    beast::error_code ec;
    d.acceptor.async_accept(socket, [&](beast::error_code e) {
        ec = e;
        done = true;
    });
    if (!run_until(d.ioc, done, timeout)) {
        d.acceptor.cancel();
        run_until(d.ioc, done, std::chrono::seconds(5));
        return nullptr;
    }
    if (ec)
        return nullptr;
    if (!d.tls)
        return d.finish(std::make_unique<plain_session>(d.ioc, std::move(socket)), device_id, secret, timeout);

    auto s = std::make_unique<tls_session>(d.ioc, std::move(socket), *d.tls);
    done = false;
    s->ws().next_layer().async_handshake(net::ssl::stream_base::server, [&](beast::error_code e) {
        ec = e;
        done = true;
    });
    if (!run_until(d.ioc, done, timeout) || ec)
        return nullptr;
    return d.finish(std::move(s), device_id, secret, timeout);
}

// --- local HTTP server ---------------------------------------------------------------------------

struct local_http_server::impl {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::function<canned_response(received_request const&)> handler;
    std::thread thread;

    void accept()
    {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec)
                return;
            serve(std::move(socket));
            accept();
        });
    }

    // One request per connection, answered synchronously: enough for a test.
    void serve(tcp::socket socket)
    {
        beast::error_code ec;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(socket, buffer, req, ec);
        if (ec)
            return;
        received_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (auto const& f : req) {
            std::string name(f.name_string());
            for (auto& c : name)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            r.headers[name] = std::string(f.value());
        }
        r.body = req.body();
        auto answer = handler(r);
        http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
        for (auto const& [k, v] : answer.headers)
            res.set(k, v);
        res.body() = answer.body;
        res.keep_alive(false);
        res.prepare_payload();
        http::write(socket, res, ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }
};

local_http_server::local_http_server(std::function<canned_response(received_request const&)> handler)
    : impl_(std::make_unique<impl>())
{
    impl_->handler = std::move(handler);
    impl_->accept();
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

local_http_server::~local_http_server()
{
    net::post(impl_->ioc, [this] {
        beast::error_code ec;
        impl_->acceptor.close(ec);
    });
    impl_->thread.join();
}

std::uint16_t local_http_server::port() const
{
    return impl_->acceptor.local_endpoint().port();
}

// --- certificates ----------------------------------------------------------------------------------

test_certificate::~test_certificate()
{
    std::error_code ec;
    std::filesystem::remove(cert_path, ec);
    std::filesystem::remove(key_path, ec);
}

std::unique_ptr<test_certificate> make_self_signed_certificate(std::string const& dns_name)
{
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (!key || !cert)
        throw std::runtime_error("OpenSSL could not make a key");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<unsigned char const*>(dns_name.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::string san = "DNS:" + dns_name;
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, san.c_str()}, std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        if (!ext)
            throw std::runtime_error("OpenSSL could not make an extension");
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(cert, key, EVP_sha256()))
        throw std::runtime_error("OpenSSL could not sign the certificate");

    auto out = std::make_unique<test_certificate>();
    auto stem = (std::filesystem::temp_directory_path() /
                 ("relay-sdk-cert-" + std::to_string(getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(out.get()))))
                    .string();
    out->cert_path = stem + ".crt";
    out->key_path = stem + ".key";
    FILE* f = std::fopen(out->cert_path.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(out->key_path.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
}

} // namespace relay::test
