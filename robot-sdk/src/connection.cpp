// The socket side of the robot client: Beast's WebSocket over TCP or TLS, in callback style
// (one async step per member function, each holding the connection alive with
// shared_from_this()), all on the client core's strand.
#include "connection.hpp"

#include "send_pacer.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay/protocol/codec.hpp>
#include <relay/protocol/close_code.hpp>
#include <relay/robot/dispatch.hpp>
#include <relay/version.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <deque>
#include <type_traits>

namespace relay::robot::detail {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

using plain_stream = websocket::stream<beast::tcp_stream>;
using tls_stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

/** A message queued for this connection only; pings are numbered when written. */
struct queued_frame {
    frame_ptr frame;
    bool ping = false;
};

bool is_ip_address(std::string const& host)
{
    boost::system::error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

std::string host_header(relay_url const& url)
{
    bool v6 = url.host.find(':') != std::string::npos;
    return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

template <class Stream> class device_connection final : public connection,
                                                        public std::enable_shared_from_this<device_connection<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
    device_connection(std::shared_ptr<client_core> core, std::uint64_t generation)
        : connection(generation),
          core_(std::move(core)),
          options_(core_->options_),
          resolver_(core_->strand_),
          ws_(make_stream(*core_)),
          deadline_(core_->strand_),
          keepalive_(core_->strand_),
          pace_timer_(core_->strand_),
          close_timer_(core_->strand_),
          pacer_(options_.send_rate, options_.send_burst),
          ping_frame_(std::make_shared<std::string const>(protocol::encode(protocol::ping{})))
    {
        handlers_.auth_challenge = [this](protocol::auth_challenge const& m) { on_challenge(m); };
        handlers_.auth_ok = [this](protocol::device_auth_ok const& m) { on_auth_ok(m); };
        handlers_.error = [this](protocol::error const& m) { on_error_message(m); };
        handlers_.pong = [this](protocol::pong const&) {
            if (authenticated_)
                core_->pongs_received(++pongs_received_);
        };
        handlers_.command = [this](protocol::robot_command const& m) {
            if (require_auth("command"))
                core_->deliver_command(m, generation_);
        };
        handlers_.http_request = [this](protocol::robot_http_request const& m) {
            if (require_auth("http_request"))
                core_->deliver_http_request(m, generation_);
        };
        handlers_.webrtc_request = [this](protocol::robot_webrtc_request const& m) {
            if (require_auth("webrtc_request"))
                core_->invoke(&callbacks::webrtc_request, m);
        };
        handlers_.webrtc_answer = [this](protocol::webrtc_answer const& m) {
            if (require_auth("webrtc_answer"))
                core_->invoke(&callbacks::webrtc_answer, m);
        };
        handlers_.webrtc_ice = [this](protocol::webrtc_ice const& m) {
            if (require_auth("webrtc_ice"))
                core_->invoke(&callbacks::webrtc_ice, m);
        };
        handlers_.webrtc_close = [this](protocol::webrtc_close_notice const& m) {
            if (require_auth("webrtc_close"))
                core_->invoke(&callbacks::webrtc_close, m);
        };
        handlers_.ack = [this](protocol::event_ack const& m) {
            if (require_auth("ack"))
                core_->on_event_ack(m);
        };
        handlers_.turn_credentials = [this](protocol::turn_credentials const& m) {
            if (require_auth("turn_credentials"))
                core_->invoke(&callbacks::turn_credentials, m);
        };
    }

    void start() override
    {
        auto self = this->shared_from_this();
        // One deadline for everything up to auth_ok: DNS, TCP, TLS, upgrade and challenge.
        deadline_.expires_after(options_.handshake_timeout);
        deadline_.async_wait([self](boost::system::error_code ec) {
            if (!ec)
                self->fail(disconnect_reason::handshake_timeout, 0,
                           "no auth_ok within " + std::to_string(self->options_.handshake_timeout.count()) + " ms");
        });
        resolver_.async_resolve(core_->url_.host, std::to_string(core_->url_.port),
                                [self](boost::system::error_code ec, tcp::resolver::results_type results) {
                                    self->on_resolve(ec, std::move(results));
                                });
    }

    void send(frame_ptr frame) override
    {
        if (done_)
            return;
        control_.push_back({std::move(frame), false});
        pump();
    }

    void pump() override
    {
        if (done_ || writing_ || pace_waiting_)
            return;
        // Something to write? Queued messages first (hello, replies, signaling), then events,
        // then, once nothing else is waiting, a ping that a flush() is waiting on.
        bool barrier = false;
        if (control_.empty() && !(authenticated_ && core_->has_event())) {
            if (!authenticated_ || !core_->needs_barrier())
                return;
            barrier = true;
        }
        auto now = clock::now();
        if (!pacer_.try_take(now)) {
            pace_waiting_ = true;
            pace_timer_.expires_after(pacer_.wait_time(now));
            pace_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
                self->pace_waiting_ = false;
                if (!ec)
                    self->pump();
            });
            return;
        }
        queued_frame next;
        if (barrier) {
            next = {ping_frame_, true};
        } else if (!control_.empty()) {
            next = std::move(control_.front());
            control_.pop_front();
        } else if (auto event = core_->take_event()) {
            next.frame = std::move(*event);
        } else {
            return; // another thread's flush raced us to an empty outbox; nothing lost
        }
        if (next.ping) {
            ++pings_sent_;
            // Any ping written while the outbox is drained completes waiting flushes.
            core_->barrier_sent(pings_sent_);
        }
        write(std::move(next.frame));
    }

    void close() override
    {
        if (done_ || closing_)
            return;
        if (!authenticated_) {
            fail(disconnect_reason::connection_lost, 0, "stopped");
            return;
        }
        closing_ = true;
        auto self = this->shared_from_this();
        close_timer_.expires_after(options_.close_timeout);
        close_timer_.async_wait([self](boost::system::error_code ec) {
            if (!ec)
                self->fail(disconnect_reason::connection_lost, 0, "closing handshake timed out");
        });
        ws_.async_close(websocket::close_code::normal, [self](boost::system::error_code ec) {
            // On success the pending read completes with websocket::error::closed.
            if (ec)
                self->fail(disconnect_reason::connection_lost, 0, "closing failed: " + ec.message());
        });
    }

private:
    static Stream make_stream(client_core& core)
    {
        if constexpr (is_tls)
            return Stream(core.strand_, *core.tls_);
        else
            return Stream(core.strand_);
    }

    void on_resolve(boost::system::error_code ec, tcp::resolver::results_type results)
    {
        if (done_)
            return;
        if (ec)
            return fail(disconnect_reason::connect_failed, 0, "cannot resolve " + core_->url_.host + ": " + ec.message());
        beast::get_lowest_layer(ws_).async_connect(
            results, [self = this->shared_from_this()](boost::system::error_code ec2, tcp::endpoint const&) {
                self->on_connect(ec2);
            });
    }

    void on_connect(boost::system::error_code ec)
    {
        if (done_)
            return;
        if (ec)
            return fail(disconnect_reason::connect_failed, 0,
                        "cannot connect to " + host_header(core_->url_) + ": " + ec.message());
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ignored);
        if constexpr (is_tls) {
            auto& tls = ws_.next_layer();
            // SNI for virtual hosting, and the certificate must name the host we asked for.
            if (!is_ip_address(core_->url_.host))
                SSL_set_tlsext_host_name(tls.native_handle(), core_->url_.host.c_str());
            tls.set_verify_mode(net::ssl::verify_peer);
            tls.set_verify_callback(net::ssl::host_name_verification(core_->url_.host));
            tls.async_handshake(net::ssl::stream_base::client,
                                [self = this->shared_from_this()](boost::system::error_code ec2) {
                                    self->on_tls_handshake(ec2);
                                });
        } else {
            upgrade();
        }
    }

    void on_tls_handshake(boost::system::error_code ec)
    {
        if (done_)
            return;
        if constexpr (is_tls) {
            if (ec) {
                std::string why = ec.message();
                long verify = SSL_get_verify_result(ws_.next_layer().native_handle());
                if (verify != X509_V_OK)
                    why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
                return fail(disconnect_reason::connect_failed, 0, "TLS handshake with " + core_->url_.host + " failed: " + why);
            }
        }
        upgrade();
    }

    void upgrade()
    {
        // Keepalive is ours (on_keepalive); Beast only bounds the handshakes.
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = options_.handshake_timeout;
        timeouts.idle_timeout = websocket::stream_base::none();
        timeouts.keep_alive_pings = false;
        ws_.set_option(timeouts);
        ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(beast::http::field::user_agent, "relay-robot-sdk/" + std::string(relay::version));
        }));
        ws_.read_message_max(options_.max_message_size);
        ws_.auto_fragment(false);
        ws_.text(true);
        // Called inside this connection's own read, which holds a reference to it.
        ws_.control_callback([this](websocket::frame_type, beast::string_view) { last_heard_ = clock::now(); });
        ws_.async_handshake(upgrade_response_, host_header(core_->url_), core_->url_.path,
                            [self = this->shared_from_this()](boost::system::error_code ec) { self->on_upgrade(ec); });
    }

    void on_upgrade(boost::system::error_code ec)
    {
        if (done_)
            return;
        if (ec) {
            std::string why = ec.message();
            if (upgrade_response_.result_int() != 0)
                why = "HTTP " + std::to_string(upgrade_response_.result_int()) + " instead of a WebSocket upgrade";
            return fail(disconnect_reason::connect_failed, 0, "WebSocket upgrade at " + to_string(core_->url_) + " failed: " + why);
        }
        read();
    }

    void read()
    {
        ws_.async_read(buffer_, [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(boost::system::error_code ec)
    {
        if (done_)
            return;
        if (ec) {
            if (ec == websocket::error::closed) {
                auto const& reason = ws_.reason();
                on_closed(static_cast<std::uint16_t>(reason.code), std::string(reason.reason.data(), reason.reason.size()));
            } else {
                fail(disconnect_reason::connection_lost, 0, "connection lost: " + ec.message());
            }
            return;
        }
        last_heard_ = clock::now();
        auto text = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        if (auto bad = dispatch(text, handlers_, options_.max_message_size)) {
            if (!authenticated_)
                return fail(disconnect_reason::protocol_error, 0,
                            "unexpected message from the relay during the handshake: " + bad->message);
            protocol::error report;
            report.code = bad->code;
            report.message = "undecodable message from the relay: " + bad->message;
            report.ref = bad->ref;
            core_->deliver_error(report);
        }
        if (!done_)
            read();
    }

    void on_closed(std::uint16_t code, std::string reason)
    {
        using protocol::close_code;
        std::string message = reason.empty() ? "closed by the relay" : reason;
        if (!auth_error_.empty())
            message = auth_error_ + (reason.empty() ? "" : " (" + reason + ")");
        if (code == static_cast<std::uint16_t>(close_code::auth_failed))
            return fail(disconnect_reason::auth_failed, code,
                        "the relay refused device '" + options_.device_id + "': " + message +
                            "; check the device id and secret (rotated?)");
        if (code == static_cast<std::uint16_t>(close_code::replaced))
            return fail(disconnect_reason::replaced, code,
                        "another connection of device '" + options_.device_id + "' took over: " + message);
        fail(disconnect_reason::relay_closed, code, message);
    }

    bool require_auth(char const* what)
    {
        if (authenticated_)
            return true;
        fail(disconnect_reason::protocol_error, 0, std::string("the relay sent ") + what + " before auth_ok");
        return false;
    }

    void on_challenge(protocol::auth_challenge const& m)
    {
        if (answered_challenge_ || authenticated_)
            return fail(disconnect_reason::protocol_error, 0, "the relay sent a second auth_challenge");
        answered_challenge_ = true;
        protocol::device_auth answer{options_.device_id, core_->challenge_answer(m.nonce)};
        send(std::make_shared<std::string const>(protocol::encode(answer)));
    }

    void on_auth_ok(protocol::device_auth_ok const& m)
    {
        if (!answered_challenge_ || authenticated_)
            return fail(disconnect_reason::protocol_error, 0, "the relay sent auth_ok out of turn");
        authenticated_ = true;
        deadline_.cancel();
        last_heard_ = last_ping_ = clock::now();
        // hello goes first; events follow it in the order they were sent.
        control_.push_back({core_->make_hello_frame(), false});
        core_->on_authenticated(generation_, m.protocol);
        arm_keepalive();
        pump();
    }

    void on_error_message(protocol::error const& m)
    {
        if (!authenticated_) {
            // The relay's refusal comes as an error, then close 4401: keep it for the report.
            auth_error_ = std::string(wire_name(m.code)) + ": " + m.message;
            return;
        }
        core_->deliver_error(m);
    }

    void arm_keepalive()
    {
        auto next = std::min(last_ping_ + options_.ping_interval, last_heard_ + options_.keepalive_timeout);
        keepalive_.expires_at(next);
        keepalive_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
            if (!ec)
                self->on_keepalive();
        });
    }

    void on_keepalive()
    {
        if (done_ || closing_)
            return;
        auto now = clock::now();
        if (now - last_heard_ >= options_.keepalive_timeout)
            return fail(disconnect_reason::keepalive_timeout, 0,
                        "nothing heard from the relay for " + std::to_string(options_.keepalive_timeout.count()) + " ms");
        if (now - last_ping_ >= options_.ping_interval) {
            last_ping_ = now;
            control_.push_back({ping_frame_, true});
            pump();
        }
        arm_keepalive();
    }

    void write(frame_ptr frame)
    {
        writing_ = true;
        ws_.async_write(net::buffer(*frame), [self = this->shared_from_this(), frame](boost::system::error_code ec,
                                                                                       std::size_t) {
            self->writing_ = false;
            if (self->done_)
                return;
            if (ec)
                return self->fail(disconnect_reason::connection_lost, 0, "write failed: " + ec.message());
            self->pump();
        });
    }

    /** Ends the connection (once): cancels everything, cuts the socket, tells the core why. */
    void fail(disconnect_reason reason, std::uint16_t code, std::string message)
    {
        if (done_)
            return;
        done_ = true;
        bool was_connected = authenticated_;
        authenticated_ = false;
        resolver_.cancel();
        deadline_.cancel();
        keepalive_.cancel();
        pace_timer_.cancel();
        close_timer_.cancel();
        boost::system::error_code ignored;
        // No closing handshake: the peer may be gone or stopped; the outstanding operations
        // complete with operation_aborted and find done_ set.
        beast::get_lowest_layer(ws_).socket().close(ignored);
        control_.clear();
        disconnect_info info;
        info.reason = reason;
        info.was_connected = was_connected;
        info.close_code = code;
        info.message = std::move(message);
        core_->on_connection_ended(generation_, std::move(info));
    }

    std::shared_ptr<client_core> core_;
    client_options const& options_;
    tcp::resolver resolver_;
    Stream ws_;
    beast::flat_buffer buffer_;
    websocket::response_type upgrade_response_;
    net::steady_timer deadline_;
    net::steady_timer keepalive_;
    net::steady_timer pace_timer_;
    net::steady_timer close_timer_;
    send_pacer pacer_;
    message_handlers handlers_;
    frame_ptr const ping_frame_;

    std::deque<queued_frame> control_;
    bool writing_ = false;
    bool pace_waiting_ = false;
    bool done_ = false;
    bool closing_ = false;
    bool answered_challenge_ = false;
    std::string auth_error_;
    clock::time_point last_heard_{};
    clock::time_point last_ping_{};
    std::uint64_t pings_sent_ = 0;
    std::uint64_t pongs_received_ = 0;
};

} // namespace

std::shared_ptr<connection> make_connection(std::shared_ptr<client_core> core, std::uint64_t generation)
{
    if (core->url_.tls)
        return std::make_shared<device_connection<tls_stream>>(std::move(core), generation);
    return std::make_shared<device_connection<plain_stream>>(std::move(core), generation);
}

} // namespace relay::robot::detail
