// relay::robot::client: the public object, the reply handles, and the client core's state
// machine (reconnect schedule, outbox, flush barriers). The socket work is in connection.cpp.
#include "client_core.hpp"
#include "connection.hpp"

#include <relay/auth/device_auth.hpp>
#include <relay/protocol/base64.hpp>
#include <relay/protocol/codec.hpp>
#include <relay/protocol/validation.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <cctype>
#include <cstdio>
#include <random>
#include <stdexcept>

namespace relay::robot {

std::string_view to_string(disconnect_reason reason) noexcept
{
    switch (reason) {
    case disconnect_reason::connect_failed: return "connect_failed";
    case disconnect_reason::handshake_timeout: return "handshake_timeout";
    case disconnect_reason::auth_failed: return "auth_failed";
    case disconnect_reason::replaced: return "replaced";
    case disconnect_reason::relay_closed: return "relay_closed";
    case disconnect_reason::connection_lost: return "connection_lost";
    case disconnect_reason::keepalive_timeout: return "keepalive_timeout";
    case disconnect_reason::protocol_error: return "protocol_error";
    }
    return "unknown";
}

namespace detail {
namespace {

frame_ptr make_frame(std::string text)
{
    return std::make_shared<std::string const>(std::move(text));
}

/** The Ed25519 key in a PKCS#8 PEM file (client_options::device_key_file); std::invalid_argument
 * naming the file when it cannot be read or holds no Ed25519 private key. */
auth::device_private_key read_device_key(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open())
        throw std::invalid_argument("device_key_file '" + path + "' cannot be opened");
    std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw std::invalid_argument("device_key_file '" + path + "' cannot be read");
    auto key = auth::device_private_key::from_pem(pem);
    if (!key)
        throw std::invalid_argument("device_key_file '" + path +
                                    "' holds no Ed25519 private key (an unencrypted PEM \"PRIVATE KEY\", as "
                                    "relay-cli device keygen writes)");
    return *key;
}

boost::json::object error_object(std::string_view code, std::string_view message)
{
    return {{"code", code}, {"message", message}};
}

/** 16 hex digits from the system's random source: this client's events' ids differ from any other's. */
std::string random_id_prefix()
{
    std::random_device rd;
    std::uint64_t r = (std::uint64_t(rd()) << 32) ^ rd();
    char buf[18];
    std::snprintf(buf, sizeof buf, "%016llx-", static_cast<unsigned long long>(r));
    return buf;
}

relay_url parse_url_or_throw(std::string const& url)
{
    auto parsed = parse_relay_url(url);
    if (!parsed)
        throw std::invalid_argument("relay URL must look like wss://host[:port][/path] (or ws://, https://, http://): '" +
                                    url + "'");
    return *parsed;
}

std::unique_ptr<net::ssl::context> make_tls_context(client_options const& options, relay_url const& url)
{
    if (!url.tls)
        return nullptr;
    auto tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    tls->set_verify_mode(net::ssl::verify_peer);
    boost::system::error_code ec;
    tls->set_default_verify_paths(ec);
    if (!options.ca_file.empty()) {
        tls->load_verify_file(options.ca_file, ec);
        if (ec)
            throw std::invalid_argument("cannot load ca_file '" + options.ca_file + "': " + ec.message());
    }
    return tls;
}

} // namespace

void flush_waiter::complete(bool success)
{
    {
        std::lock_guard lock(mutex);
        if (done)
            return;
        done = true;
        ok = success;
    }
    done_cv.notify_all();
}

bool reply_state::answer(frame_ptr frame)
{
    if (answered.exchange(true))
        return false;
    auto c = core.lock();
    if (!c)
        return false;
    if (frame->size() > c->options_.max_send_size) {
        // Sent as is, it would cost the connection (1009); the app gets the reason instead.
        std::string what = "the answer is " + std::to_string(frame->size()) + " bytes, over the limit of " +
                           std::to_string(c->options_.max_send_size);
        if (this->what == kind::command) {
            protocol::robot_command_result result;
            result.id = id;
            result.error = error_object("RESULT_TOO_LARGE", what);
            frame = make_frame(protocol::encode(result));
        } else {
            protocol::robot_http_response response;
            response.id = id;
            response.status = 413;
            response.headers.emplace("Content-Type", "application/json");
            response.body = boost::json::object{{"error", error_object("BODY_TOO_LARGE", what)}};
            frame = make_frame(protocol::encode(response));
        }
    }
    return c->send_reply(std::move(frame), generation);
}

reply_state::~reply_state()
{
    if (answered.load())
        return;
    try {
        if (what == kind::command) {
            protocol::robot_command_result result;
            result.id = id;
            result.ok = false;
            result.error = error_object("NOT_ANSWERED", "the robot did not answer this command");
            answer(make_frame(protocol::encode(result)));
        } else {
            protocol::robot_http_response response;
            response.id = id;
            response.status = 500;
            response.headers.emplace("Content-Type", "application/json");
            response.body = boost::json::object{{"error", error_object("NOT_ANSWERED", "the robot did not answer this request")}};
            answer(make_frame(protocol::encode(response)));
        }
    } catch (...) {
        // Out of memory in a destructor: the relay's own timeout will answer the app.
    }
}

client_core::client_core(client_options options, net::io_context& io, bool own_thread)
    : options_(std::move(options)),
      url_(parse_url_or_throw(options_.url)),
      io_(io),
      strand_(net::make_strand(io)),
      tls_(make_tls_context(options_, url_)),
      own_thread_(own_thread),
      event_id_prefix_(options_.acknowledged_events ? random_id_prefix() : std::string()),
      retry_timer_(strand_),
      backoff_(options_.reconnect),
      secret_(options_.device_secret),
      capabilities_(options_.capabilities),
      firmware_(options_.firmware)
{
    if (!protocol::is_valid_device_id(options_.device_id))
        throw std::invalid_argument("device_id must be 1 to 64 of [A-Za-z0-9._-]: '" + options_.device_id + "'");
    if (options_.device_secret.empty() == options_.device_key_file.empty())
        throw std::invalid_argument(options_.device_secret.empty()
                                        ? "give device_secret or device_key_file"
                                        : "give device_secret or device_key_file, not both");
    if (!options_.device_key_file.empty())
        key_ = read_device_key(options_.device_key_file);
    if (options_.outbox_capacity == 0)
        throw std::invalid_argument("outbox_capacity must be at least 1");
    if (options_.ping_interval.count() <= 0 || options_.keepalive_timeout <= options_.ping_interval)
        throw std::invalid_argument("keepalive_timeout must be longer than ping_interval, which must be positive");
    if (options_.handshake_timeout.count() <= 0 || options_.close_timeout.count() <= 0)
        throw std::invalid_argument("handshake_timeout and close_timeout must be positive");
    if (!(options_.send_rate > 0) || options_.send_burst < 1)
        throw std::invalid_argument("send_rate must be positive and send_burst at least 1");
}

client_core::~client_core()
{
    if (thread_.joinable()) {
        // Only reachable when the last reference went away on the I/O thread itself.
        if (thread_.get_id() == std::this_thread::get_id())
            thread_.detach();
        else
            thread_.join();
    }
}

void client_core::start()
{
    if (started_.exchange(true))
        throw std::logic_error("relay::robot::client::start() called twice");
    net::post(strand_, [self = shared_from_this()] { self->connect(); });
    if (!own_thread_)
        return;
    // The thread is created and recorded under join_mutex_, so a stop() on another thread
    // never sees thread_ half-assigned.
    std::lock_guard join_lock(join_mutex_);
    std::promise<void> exited;
    thread_exited_ = exited.get_future();
    // The client joins this thread before it releases the core, so a bare pointer is enough and
    // the core is never destroyed on its own thread.
    thread_ = std::thread([core = this, exited = std::move(exited)]() mutable {
        for (;;) {
            try {
                core->io_.run();
                break;
            } catch (...) {
                // Callbacks' exceptions are caught where they are called; anything else is
                // reported the same way and the loop goes on, so the robot stays connected.
                std::lock_guard lock(core->callback_mutex_);
                core->report_callback_exception("relay client handler", std::current_exception());
            }
        }
        exited.set_value();
    });
}

void client_core::stop()
{
    {
        // Waits for a running callback (unless this is that callback's own thread).
        std::lock_guard lock(callback_mutex_);
        callbacks_off_ = true;
    }
    if (!stop_requested_.exchange(true))
        net::post(strand_, [self = shared_from_this()] { self->begin_stop(); });
    // From a callback (on the I/O thread) the shutdown can only be requested: the thread
    // cannot join itself. Checked before touching thread_, which start() may still be assigning.
    if (!own_thread_ || strand_.running_in_this_thread())
        return;
    std::lock_guard join_lock(join_mutex_);
    if (!thread_.joinable() || thread_.get_id() == std::this_thread::get_id())
        return;
    // The closing handshake gets close_timeout; a relay that does not answer does not hold us.
    if (thread_exited_.wait_for(options_.close_timeout + std::chrono::seconds(1)) != std::future_status::ready)
        io_.stop();
    thread_.join();
}

void client_core::begin_stop()
{
    stopping_ = true;
    retry_timer_.cancel();
    for (auto& w : flush_waiters_)
        w->complete(false);
    flush_waiters_.clear();
    if (connection_)
        connection_->close();
}

void client_core::connect()
{
    if (stopping_)
        return;
    connection_ = make_connection(shared_from_this(), ++generation_);
    connection_->start();
}

void client_core::on_authenticated(std::uint64_t generation, int protocol)
{
    if (!connection_ || connection_->generation() != generation)
        return;
    connected_at_ = std::chrono::steady_clock::now();
    live_generation_ = generation;
    connected_ = true;
    connection_info info;
    info.device_id = options_.device_id;
    info.protocol = protocol;
    {
        std::lock_guard lock(mutex_);
        info.connections = ++stats_.connections;
        info.outbox_size = outbox_.size();
    }
    invoke(&callbacks::connected, info);
}

void client_core::on_connection_ended(std::uint64_t generation, disconnect_info info)
{
    if (!connection_ || connection_->generation() != generation)
        return;
    connection_.reset();
    connected_ = false;
    live_generation_ = 0;
    {
        // Events this connection wrote without an ack go out again first, in order, on the next.
        std::lock_guard lock(mutex_);
        for (auto& e : unacked_)
            e.resend = true;
        outbox_.insert(outbox_.begin(), std::make_move_iterator(unacked_.begin()),
                       std::make_move_iterator(unacked_.end()));
        unacked_.clear();
    }
    // Barriers were pings on the connection that ended; the next connection sends new ones.
    for (auto& w : flush_waiters_)
        w->barrier.reset();
    if (stopping_)
        return;
    {
        std::lock_guard lock(mutex_);
        if (info.reason == disconnect_reason::auth_failed)
            ++stats_.auth_failures;
        else if (info.reason == disconnect_reason::replaced)
            ++stats_.replaced;
        else if (info.reason == disconnect_reason::keepalive_timeout)
            ++stats_.keepalive_timeouts;
    }
    if (info.was_connected && std::chrono::steady_clock::now() - connected_at_ >= options_.stable_after)
        backoff_.reset();
    if (info.reason == disconnect_reason::replaced) {
        info.will_retry = !options_.stop_when_replaced;
        info.retry_in = info.will_retry ? options_.replaced_retry_delay : std::chrono::milliseconds(0);
        info.failures = backoff_.failures();
    } else {
        info.retry_in = backoff_.next();
        info.failures = backoff_.failures();
    }
    invoke(&callbacks::disconnected, info);
    if (!info.will_retry) {
        stopping_ = true;
        for (auto& w : flush_waiters_)
            w->complete(false);
        flush_waiters_.clear();
        return;
    }
    retry_timer_.expires_after(info.retry_in);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec)
            self->connect();
    });
}

std::optional<frame_ptr> client_core::take_event()
{
    std::lock_guard lock(mutex_);
    if (outbox_.empty())
        return std::nullopt;
    auto entry = std::move(outbox_.front());
    outbox_.pop_front();
    ++stats_.events_sent;
    if (entry.resend)
        ++stats_.events_resent;
    if (entry.id.empty())
        return std::move(entry.frame);
    auto frame = entry.frame;
    unacked_.push_back(std::move(entry));
    return frame;
}

bool client_core::has_event() const
{
    std::lock_guard lock(mutex_);
    return !outbox_.empty();
}

frame_ptr client_core::make_hello_frame() const
{
    std::lock_guard lock(mutex_);
    return make_frame(protocol::encode(protocol::hello{capabilities_, firmware_}));
}

std::string client_core::challenge_answer(std::string const& nonce) const
{
    std::unique_lock lock(mutex_);
    auto key = key_;
    auto secret = secret_;
    lock.unlock(); // signing needs no lock: the key is immutable and shared
    if (key)
        return auth::device_key_signature(*key, nonce, options_.device_id);
    return auth::device_signature(secret, nonce, options_.device_id);
}

bool client_core::events_done_up_to(std::uint64_t target) const
{
    std::lock_guard lock(mutex_);
    auto const& oldest = unacked_.empty() ? outbox_ : unacked_;
    return oldest.empty() || oldest.front().seq > target;
}

bool client_core::needs_barrier() const
{
    return std::any_of(flush_waiters_.begin(), flush_waiters_.end(),
                       [&](auto const& w) { return !w->barrier && events_done_up_to(w->target); });
}

void client_core::barrier_sent(std::uint64_t ping_number)
{
    for (auto& w : flush_waiters_)
        if (!w->barrier && events_done_up_to(w->target))
            w->barrier = ping_number;
}

void client_core::pongs_received(std::uint64_t count)
{
    // The relay answers a connection's pings in order, so the count-th pong answers the
    // count-th ping, and everything written before that ping has been processed.
    std::erase_if(flush_waiters_, [&](auto const& w) {
        if (!w->barrier || *w->barrier > count)
            return false;
        w->complete(true);
        return true;
    });
}

void client_core::deliver_command(protocol::robot_command const& command, std::uint64_t generation)
{
    auto state = std::make_shared<reply_state>();
    state->core = weak_from_this();
    state->what = reply_state::kind::command;
    state->id = command.id;
    state->generation = generation;
    command_reply reply(std::move(state));
    // The reply is only moved from when the callback is actually called.
    if (!invoke(&callbacks::command, command, std::move(reply)))
        reply.fail(error_object("UNKNOWN_COMMAND", "this robot does not handle commands"));
}

void client_core::deliver_http_request(protocol::robot_http_request const& request, std::uint64_t generation)
{
    auto state = std::make_shared<reply_state>();
    state->core = weak_from_this();
    state->what = reply_state::kind::http;
    state->id = request.id;
    state->generation = generation;
    http_reply reply(std::move(state));
    if (!invoke(&callbacks::http_request, request, std::move(reply)))
        reply.respond(501, boost::json::object{{"error", error_object("NOT_IMPLEMENTED", "this robot serves no REST API")}});
}

void client_core::deliver_error(protocol::error const& error)
{
    invoke(&callbacks::error, error);
}

void client_core::on_event_ack(protocol::event_ack const& ack)
{
    {
        std::lock_guard lock(mutex_);
        // Acks come in the order the events were written, so this is nearly always the front.
        auto it = std::find_if(unacked_.begin(), unacked_.end(), [&](auto const& e) { return e.id == ack.ref; });
        if (it == unacked_.end())
            return; // already acknowledged, or not ours
        unacked_.erase(it);
        ++stats_.events_acknowledged;
    }
    invoke(&callbacks::event_ack, ack);
    // A flush may have been waiting for this ack to send its barrier ping.
    if (connection_ && needs_barrier())
        connection_->pump();
}

void client_core::report_callback_exception(char const* which, std::exception_ptr e)
{
    // Called with callback_mutex_ held. One level only: an on_error that throws is ignored.
    protocol::error report;
    report.code = relay::errc::internal;
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& ex) {
        report.message = std::string(which) + " threw: " + ex.what();
    } catch (...) {
        report.message = std::string(which) + " threw a non-standard exception";
    }
    try {
        if (!callbacks_off_ && callbacks_.error)
            callbacks_.error(report);
    } catch (...) {
    }
}

bool client_core::send_reply(frame_ptr frame, std::uint64_t generation)
{
    if (live_generation_.load() != generation) {
        std::lock_guard lock(mutex_);
        ++stats_.replies_dropped;
        return false;
    }
    net::post(strand_, [self = shared_from_this(), frame = std::move(frame), generation]() mutable {
        if (self->connection_ && self->connection_->generation() == generation && self->connection_->authenticated()) {
            self->connection_->send(std::move(frame));
        } else {
            std::lock_guard lock(self->mutex_);
            ++self->stats_.replies_dropped;
        }
    });
    return true;
}

bool client_core::send_session_message(frame_ptr frame)
{
    if (!connected_.load())
        return false;
    net::post(strand_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
        if (self->connection_ && self->connection_->authenticated())
            self->connection_->send(std::move(frame));
    });
    return true;
}

void client_core::schedule_pump()
{
    // Many events sent in a burst need one wake-up of the writer, not one each.
    if (pump_posted_.exchange(true))
        return;
    net::post(strand_, [self = shared_from_this()] {
        self->pump_posted_ = false;
        if (self->connection_)
            self->connection_->pump();
    });
}

boost::system::error_code client_core::send_event(std::string_view name, std::optional<boost::json::value> data)
{
    if (!protocol::is_valid_event_name(name) || protocol::is_presence_event(name))
        return relay::errc::bad_message;
    protocol::robot_event event{std::string(name), std::move(data), std::nullopt};
    if (options_.acknowledged_events)
        event.id = event_id_prefix_ + std::to_string(next_event_id_++);
    auto frame = make_frame(protocol::encode(event));
    if (frame->size() > options_.max_send_size)
        return relay::errc::message_too_large;
    {
        std::lock_guard lock(mutex_);
        if (outbox_.size() + unacked_.size() >= options_.outbox_capacity) {
            // The oldest goes, acknowledged or not: that is the outbox's bound.
            (unacked_.empty() ? outbox_ : unacked_).pop_front();
            ++stats_.events_dropped;
        }
        outbox_.push_back({next_event_seq_++, std::move(frame), event.id.value_or(std::string())});
        ++stats_.events_queued;
    }
    if (connected_.load())
        schedule_pump();
    return {};
}

void client_core::hello(boost::json::object capabilities, std::optional<std::string> firmware)
{
    {
        std::lock_guard lock(mutex_);
        capabilities_ = std::move(capabilities);
        if (firmware)
            firmware_ = std::move(firmware);
    }
    send_session_message(make_hello_frame());
}

bool client_core::flush(std::chrono::milliseconds timeout)
{
    if (strand_.running_in_this_thread())
        return false; // the I/O thread would wait for itself
    auto w = std::make_shared<flush_waiter>();
    {
        std::lock_guard lock(mutex_);
        w->target = next_event_seq_ - 1;
    }
    net::post(strand_, [self = shared_from_this(), w] {
        if (self->stopping_) {
            w->complete(false);
            return;
        }
        self->flush_waiters_.push_back(w);
        if (self->connection_)
            self->connection_->pump();
    });
    std::unique_lock lock(w->mutex);
    if (w->done_cv.wait_for(lock, timeout, [&] { return w->done; }))
        return w->ok;
    lock.unlock();
    net::post(strand_, [self = shared_from_this(), w] { std::erase(self->flush_waiters_, w); });
    return false;
}

client_stats client_core::stats() const
{
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.outbox_size = outbox_.size();
    s.events_unacknowledged = unacked_.size();
    s.connected = connected_.load();
    return s;
}

} // namespace detail

// --- replies ----------------------------------------------------------------------------------

bool command_reply::ok(std::optional<boost::json::value> data)
{
    protocol::robot_command_result result;
    result.ok = true;
    result.data = std::move(data);
    return send(std::move(result));
}

bool command_reply::fail(boost::json::value error)
{
    protocol::robot_command_result result;
    result.ok = false;
    result.error = std::move(error);
    return send(std::move(result));
}

bool command_reply::send(protocol::robot_command_result result)
{
    if (!state_ || state_->answered.load())
        return false;
    result.id = state_->id;
    return state_->answer(detail::make_frame(protocol::encode(result)));
}

bool command_reply::answered() const noexcept
{
    return state_ && state_->answered.load();
}

namespace {

bool has_header(protocol::http_headers const& headers, std::string_view name)
{
    return std::any_of(headers.begin(), headers.end(), [&](auto const& h) {
        return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        });
    });
}

} // namespace

bool http_reply::respond(unsigned status, std::optional<boost::json::value> body, protocol::http_headers headers)
{
    if (body && !has_header(headers, "content-type"))
        headers.emplace("Content-Type", "application/json");
    protocol::robot_http_response response;
    response.status = status;
    response.headers = std::move(headers);
    response.body = std::move(body);
    return send(std::move(response));
}

bool http_reply::respond_bytes(unsigned status, std::string_view bytes, std::string content_type,
                               protocol::http_headers headers)
{
    if (!has_header(headers, "content-type"))
        headers.emplace("Content-Type", std::move(content_type));
    protocol::robot_http_response response;
    response.status = status;
    response.headers = std::move(headers);
    response.body_b64 = protocol::base64_encode(bytes);
    return send(std::move(response));
}

bool http_reply::send(protocol::robot_http_response response)
{
    // The relay refuses the whole message for one bad field and the app gets only a 502
    // DEVICE_BAD_RESPONSE: a malformed answer is the robot program's bug, said at the call.
    if (!protocol::is_valid_http_response_status(response.status))
        throw std::invalid_argument("HTTP status must be a final status from 200 to 599");
    bool const has_body = response.body || (response.body_b64 && !response.body_b64->empty());
    if (has_body && !protocol::http_status_allows_body(response.status))
        throw std::invalid_argument("an HTTP response with status 204 or 304 has no body");
    for (auto const& [name, value] : response.headers)
        if (!protocol::is_valid_http_header_name(name) || !protocol::is_valid_http_header_value(value))
            throw std::invalid_argument("invalid HTTP header '" + name + "'");
    if (response.body && response.body_b64)
        throw std::invalid_argument("an HTTP response has body or body_b64, not both");
    if (!state_ || state_->answered.load())
        return false;
    response.id = state_->id;
    return state_->answer(detail::make_frame(protocol::encode(response)));
}

bool http_reply::answered() const noexcept
{
    return state_ && state_->answered.load();
}

// --- client -------------------------------------------------------------------------------------

client::client(client_options options)
    : own_io_(std::make_unique<boost::asio::io_context>(1)),
      core_(std::make_shared<detail::client_core>(std::move(options), *own_io_, true))
{
}

client::client(client_options options, boost::asio::io_context& io)
    : core_(std::make_shared<detail::client_core>(std::move(options), io, false))
{
}

client::~client()
{
    stop();
    // The core goes first: handlers still queued in our io_context may hold it, and they are
    // destroyed with the io_context, before anything they refer to.
    core_.reset();
    own_io_.reset();
}

void client::start()
{
    core_->start();
}

void client::stop()
{
    core_->stop();
}

boost::system::error_code client::send_event(std::string_view name, std::optional<boost::json::value> data)
{
    return core_->send_event(name, std::move(data));
}

void client::hello(boost::json::object capabilities, std::optional<std::string> firmware)
{
    core_->hello(std::move(capabilities), std::move(firmware));
}

bool client::send_webrtc_offer(std::string session_id, std::string sdp)
{
    protocol::webrtc_offer offer{std::move(session_id), {protocol::sdp_type::offer, std::move(sdp)}};
    return core_->send_session_message(detail::make_frame(protocol::encode(offer)));
}

bool client::send_webrtc_ice(std::string session_id, std::optional<protocol::ice_candidate> candidate)
{
    protocol::webrtc_ice ice{std::move(session_id), std::move(candidate)};
    return core_->send_session_message(detail::make_frame(protocol::encode(ice)));
}

bool client::send_webrtc_close(std::string session_id, std::optional<std::string> reason)
{
    protocol::webrtc_close close{std::move(session_id), std::move(reason)};
    return core_->send_session_message(detail::make_frame(protocol::encode(close)));
}

bool client::send_webrtc_stats(protocol::webrtc_stats stats)
{
    return core_->send_session_message(detail::make_frame(protocol::encode(stats)));
}

bool client::request_turn_credentials(std::optional<std::string> id)
{
    // An invalid id would cost the request (BAD_MESSAGE) without the relay naming it in `ref`.
    if (id && !protocol::is_valid_message_id(*id))
        throw std::invalid_argument("a request id is 1 to 128 bytes without control characters");
    protocol::turn_credentials_request request{std::move(id)};
    return core_->send_session_message(detail::make_frame(protocol::encode(request)));
}

bool client::flush(std::chrono::milliseconds timeout)
{
    return core_->flush(timeout);
}

void client::set_device_secret(std::string secret)
{
    std::lock_guard lock(core_->mutex_);
    core_->secret_ = std::move(secret);
    core_->key_.reset(); // the device went back to a secret
}

namespace {

template <class Member, class Callback>
void set_callback(detail::client_core& core, Member detail::callbacks::*member, Callback callback)
{
    std::lock_guard lock(core.callback_mutex_);
    core.callbacks_.*member = std::move(callback);
}

} // namespace

void client::on_connected(std::function<void(connection_info const&)> callback)
{
    set_callback(*core_, &detail::callbacks::connected, std::move(callback));
}

void client::on_disconnected(std::function<void(disconnect_info const&)> callback)
{
    set_callback(*core_, &detail::callbacks::disconnected, std::move(callback));
}

void client::on_command(std::function<void(protocol::robot_command const&, command_reply)> callback)
{
    set_callback(*core_, &detail::callbacks::command, std::move(callback));
}

void client::on_webrtc_request(std::function<void(protocol::robot_webrtc_request const&)> callback)
{
    set_callback(*core_, &detail::callbacks::webrtc_request, std::move(callback));
}

void client::on_webrtc_answer(std::function<void(protocol::webrtc_answer const&)> callback)
{
    set_callback(*core_, &detail::callbacks::webrtc_answer, std::move(callback));
}

void client::on_webrtc_ice(std::function<void(protocol::webrtc_ice const&)> callback)
{
    set_callback(*core_, &detail::callbacks::webrtc_ice, std::move(callback));
}

void client::on_webrtc_close(std::function<void(protocol::webrtc_close_notice const&)> callback)
{
    set_callback(*core_, &detail::callbacks::webrtc_close, std::move(callback));
}

void client::on_turn_credentials(std::function<void(protocol::turn_credentials const&)> callback)
{
    set_callback(*core_, &detail::callbacks::turn_credentials, std::move(callback));
}

void client::on_event_ack(std::function<void(protocol::event_ack const&)> callback)
{
    set_callback(*core_, &detail::callbacks::event_ack, std::move(callback));
}

void client::on_http_request(std::function<void(protocol::robot_http_request const&, http_reply)> callback)
{
    set_callback(*core_, &detail::callbacks::http_request, std::move(callback));
}

void client::on_error(std::function<void(protocol::error const&)> callback)
{
    set_callback(*core_, &detail::callbacks::error, std::move(callback));
}

bool client::connected() const noexcept
{
    return core_->connected_.load();
}

client_stats client::stats() const
{
    return core_->stats();
}

} // namespace relay::robot
