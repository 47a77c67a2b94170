#include "cluster/hiredis_asio.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cctype>

namespace relay::cluster {
namespace {

hiredis_connection* connection_of(void* data) { return static_cast<hiredis_connection*>(data); }

/** hiredis's messages start with a capital ("Connection refused"); ours are lower case. */
std::string message_of(char const* errstr)
{
    std::string text = errstr && *errstr ? errstr : "connection lost";
    text.front() = static_cast<char>(std::tolower(static_cast<unsigned char>(text.front())));
    return text;
}

/** Appends a binary-safe command to hiredis's output buffer; false when hiredis refuses it
 * (the context is closing). */
bool append_command(redisAsyncContext* ac, redisCallbackFn* fn, std::vector<std::string> const& argv)
{
    hiredis_argv a(argv);
    return redisAsyncCommandArgv(ac, fn, nullptr, a.argc(), a.args.data(), a.lengths.data()) == REDIS_OK;
}

} // namespace

hiredis_argv::hiredis_argv(std::vector<std::string> const& argv)
{
    args.reserve(argv.size());
    lengths.reserve(argv.size());
    for (auto const& a : argv) {
        args.push_back(a.data());
        lengths.push_back(a.size());
    }
}

redis_reply copy_reply(redisReply const& reply)
{
    redis_reply out;
    switch (reply.type) {
    case REDIS_REPLY_STATUS:
        out.type = redis_reply::kind::status;
        break;
    case REDIS_REPLY_ERROR:
        out.type = redis_reply::kind::error;
        break;
    case REDIS_REPLY_INTEGER:
        out.type = redis_reply::kind::integer;
        out.integer = reply.integer;
        return out;
    case REDIS_REPLY_STRING:
        out.type = redis_reply::kind::string;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = redis_reply::kind::array;
        out.elements.reserve(reply.elements);
        for (std::size_t i = 0; i < reply.elements; ++i)
            out.elements.push_back(copy_reply(*reply.element[i]));
        return out;
    default:
        return out; // nil
    }
    out.str.assign(reply.str, reply.len);
    return out;
}

hiredis_connection::hiredis_connection(boost::asio::io_context& io, callbacks handlers)
    : io_(io), handlers_(std::move(handlers)), descriptor_(io), resolver_(io), connect_timer_(io)
{
}

hiredis_connection::~hiredis_connection()
{
    if (context_) {
        // Only when its owner dropped it open: nobody is left to tell.
        silent_ = true;
        unanswered_.clear();
        redisAsyncFree(context_);
    }
}

void hiredis_connection::connect(std::string const& host, std::uint16_t port, std::chrono::milliseconds limit)
{
    connect_timer_.expires_after(limit);
    connect_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (auto self = weak.lock(); self && !ec)
            self->close("no answer within the connect timeout");
    });
    boost::system::error_code not_an_address;
    auto const address = boost::asio::ip::make_address(host, not_an_address);
    if (!not_an_address) {
        attach(address.to_string(), port);
        return;
    }
    // hiredis would resolve a name with a blocking getaddrinfo on this thread: Asio's resolver
    // does it beside it, and the connect time limit covers it.
    resolving_ = true;
    resolver_.async_resolve(host, std::to_string(port),
                            [self = shared_from_this(), port](boost::system::error_code ec,
                                                              boost::asio::ip::tcp::resolver::results_type found) {
                                self->resolving_ = false;
                                if (self->closing_)
                                    return self->report_closed(); // close() while resolving
                                if (ec || found.empty()) {
                                    self->why_ = "cannot resolve the host: " + ec.message();
                                    return self->report_closed();
                                }
                                // IPv4 first: "localhost" often lists ::1 first, where a
                                // Redis bound to 127.0.0.1 refuses.
                                auto chosen = found.begin()->endpoint().address();
                                for (auto const& entry : found)
                                    if (entry.endpoint().address().is_v4()) {
                                        chosen = entry.endpoint().address();
                                        break;
                                    }
                                self->attach(chosen.to_string(), port);
                            });
}

void hiredis_connection::attach(std::string const& address, std::uint16_t port)
{
    auto* ac = redisAsyncConnect(address.c_str(), port);
    if (!ac || ac->err) {
        // Failed at once (e.g. refused on loopback): hiredis attached nothing yet.
        why_ = ac ? message_of(ac->errstr) : "out of memory";
        if (ac)
            redisAsyncFree(ac);
        boost::asio::post(io_, [self = shared_from_this()] { self->report_closed(); });
        return;
    }
    context_ = ac;
    // Before any hook: setting the connect callback already asks for the first write event.
    descriptor_.assign(ac->c.fd);
    ac->data = this;
    ac->ev.data = this;
    ac->ev.addRead = &add_read;
    ac->ev.delRead = &del_read;
    ac->ev.addWrite = &add_write;
    ac->ev.delWrite = &del_write;
    ac->ev.cleanup = &cleanup;
    redisAsyncSetConnectCallback(ac, &on_connect);
    redisAsyncSetDisconnectCallback(ac, &on_disconnect);
    // The connect completes when the socket turns writable (hiredis checks SO_ERROR then; the
    // connect callback above asked for that).
}

void hiredis_connection::ready() { connect_timer_.cancel(); }

bool hiredis_connection::send(std::vector<std::string> const& argv, reply_callback done)
{
    if (!open() || argv.empty())
        return false;
    if (!append_command(context_, &on_reply, argv))
        return false;
    unanswered_.push_back({std::move(done), std::chrono::steady_clock::now()});
    return true;
}

bool hiredis_connection::subscription(std::vector<std::string> const& argv)
{
    if (!open() || argv.size() < 2)
        return false;
    return append_command(context_, &on_push, argv);
}

std::optional<std::chrono::steady_clock::time_point> hiredis_connection::oldest_unanswered() const
{
    if (unanswered_.empty())
        return std::nullopt;
    return unanswered_.front().sent;
}

void hiredis_connection::close(std::string why)
{
    if (resolving_ && !closing_) {
        closing_ = true;
        why_ = std::move(why);
        resolver_.cancel(); // its handler reports the end
        return;
    }
    if (!context_ || closing_)
        return;
    closing_ = true;
    // Posted: hiredis must not free a context from inside one of its own callbacks' callers.
    boost::asio::post(io_, [self = shared_from_this(), why = std::move(why)]() mutable {
        if (!self->context_)
            return;
        self->why_ = std::move(why);
        redisAsyncFree(self->context_);
    });
}

void hiredis_connection::arm(bool read)
{
    auto& waiting = read ? read_waiting_ : write_waiting_;
    if (waiting || !context_)
        return;
    waiting = true;
    descriptor_.async_wait(read ? boost::asio::posix::descriptor_base::wait_read
                                : boost::asio::posix::descriptor_base::wait_write,
                           [self = shared_from_this(), read](boost::system::error_code ec) {
                               (read ? self->read_waiting_ : self->write_waiting_) = false;
                               // Aborted: cleanup released the descriptor (the context is gone).
                               if (ec || !self->context_ || !(read ? self->want_read_ : self->want_write_))
                                   return;
                               if (read)
                                   redisAsyncHandleRead(self->context_);
                               else
                                   redisAsyncHandleWrite(self->context_);
                               // Level-triggered, as libuv's poll: wait again while hiredis wants it.
                               if (self->context_ && (read ? self->want_read_ : self->want_write_))
                                   self->arm(read);
                           });
}

void hiredis_connection::add_read(void* self)
{
    connection_of(self)->want_read_ = true;
    connection_of(self)->arm(true);
}

void hiredis_connection::del_read(void* self) { connection_of(self)->want_read_ = false; }

void hiredis_connection::add_write(void* self)
{
    connection_of(self)->want_write_ = true;
    connection_of(self)->arm(false);
}

void hiredis_connection::del_write(void* self) { connection_of(self)->want_write_ = false; }

void hiredis_connection::cleanup(void* self)
{
    // hiredis is freeing the context and closes the fd itself right after: Asio lets go of it
    // (pending waits end with operation_aborted) and never closes it.
    auto* c = connection_of(self);
    c->context_ = nullptr;
    c->want_read_ = c->want_write_ = false;
    c->descriptor_.release();
    c->connect_timer_.cancel();
    if (c->silent_)
        return;
    boost::asio::post(c->io_, [weak = c->weak_from_this()] {
        if (auto s = weak.lock())
            s->report_closed();
    });
}

void hiredis_connection::on_connect(redisAsyncContext const* ac, int status)
{
    auto* c = connection_of(ac->data);
    if (status != REDIS_OK) {
        c->why_ = message_of(ac->errstr); // hiredis frees the context next (cleanup above)
        return;
    }
    if (!c->silent_ && c->handlers_.connected)
        c->handlers_.connected();
}

void hiredis_connection::on_disconnect(redisAsyncContext const* ac, int status)
{
    auto* c = connection_of(ac->data);
    if (c->why_.empty())
        c->why_ = status == REDIS_OK ? "connection closed" : message_of(ac->errstr);
}

void hiredis_connection::on_reply(redisAsyncContext* ac, void* reply, void*)
{
    auto* c = connection_of(ac->data);
    if (c->unanswered_.empty())
        return;
    auto done = std::move(c->unanswered_.front().done);
    c->unanswered_.pop_front();
    if (done && !c->silent_)
        done(static_cast<redisReply const*>(reply));
}

void hiredis_connection::on_push(redisAsyncContext* ac, void* reply, void*)
{
    auto* c = connection_of(ac->data);
    // Null when the connection ends (once per subscribed channel): `closed` tells that.
    if (reply && !c->silent_ && c->handlers_.pushed)
        c->handlers_.pushed(*static_cast<redisReply const*>(reply));
}

void hiredis_connection::report_closed()
{
    if (reported_)
        return;
    reported_ = true;
    closing_ = true;
    connect_timer_.cancel();
    if (handlers_.closed)
        handlers_.closed(why_.empty() ? "connection closed" : why_);
}

} // namespace relay::cluster
