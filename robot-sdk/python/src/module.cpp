// relay_robot._native: relay::robot::client for Python. The package relay_robot (__init__.py)
// builds the asyncio API on it; this file only makes the C++ client safe to drive from Python:
//  - every C++ callback takes the GIL just long enough to hand the message to the asyncio loop
//    with loop.call_soon_threadsafe, so no Python handler ever runs on the SDK's I/O thread;
//  - calls that block (stop, flush, destruction) release the GIL, so an I/O thread waiting for
//    it to deliver a message cannot deadlock them;
//  - once stopping has begun no message is handed over, and none during interpreter shutdown.
#include "json_convert.hpp"

#include <relay/protocol/errc.hpp>
#include <relay/robot/client.hpp>
#include <relay/robot/local_api.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace py = pybind11;
namespace json = boost::json;
namespace protocol = relay::protocol;
namespace robot = relay::robot;
using relay::python::from_python;
using relay::python::to_python;

namespace {

bool interpreter_finalizing()
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing() != 0;
#else
    return _Py_IsFinalizing() != 0;
#endif
}

std::chrono::milliseconds seconds_to_ms(double seconds, char const* what)
{
    if (!std::isfinite(seconds) || seconds <= 0 || seconds > 86400.0 * 365)
        throw std::invalid_argument(std::string(what) + " must be a positive number of seconds");
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000)));
}

// A decoded protocol struct, or ValueError saying why the relay would refuse it.
template <class T> T decode(json::value const& jv, char const* what)
{
    auto r = json::try_value_to<T>(jv);
    if (!r)
        throw std::invalid_argument(std::string("invalid ") + what + ": " + r.error().message());
    return std::move(*r);
}

/** The answer to one command, for Python: the first answer wins (see robot::command_reply). */
struct py_command_reply {
    robot::command_reply reply;
    bool ok(py::object data)
    {
        std::optional<json::value> jv;
        if (!data.is_none())
            jv = from_python(data);
        return reply.ok(std::move(jv));
    }
    bool fail(py::object error) { return reply.fail(from_python(error)); }
};

/** The answer to one REST-tunnel request, for Python. */
struct py_http_reply {
    robot::http_reply reply;
    bool respond(unsigned status, py::object body, std::map<std::string, std::string> headers)
    {
        std::optional<json::value> jv;
        if (!body.is_none())
            jv = from_python(body);
        protocol::http_headers h(headers.begin(), headers.end());
        return reply.respond(status, std::move(jv), std::move(h));
    }
    bool respond_bytes(unsigned status, py::bytes body, std::string content_type,
                       std::map<std::string, std::string> headers)
    {
        std::string_view bytes = body;
        protocol::http_headers h(headers.begin(), headers.end());
        return reply.respond_bytes(status, bytes, std::move(content_type), std::move(h));
    }
};

/**
 * The client and what it needs to reach Python. Callbacks refer to it through a shared_ptr
 * held by the lambdas, so a message arriving while Python drops the last reference finds it
 * alive (and closing).
 */
struct bridge {
    std::atomic<bool> closing{false};
    // Set, read and cleared only with the GIL held, which is what guards them.
    py::object call_soon; // loop.call_soon_threadsafe
    py::object dispatch;  // dispatch(kind, payload, reply)

    // Runs on the I/O thread: hands one message to the loop.
    template <class Make> void deliver(char const* kind, Make&& make_args)
    {
        if (closing.load() || interpreter_finalizing())
            return;
        py::gil_scoped_acquire gil;
        if (closing.load() || !call_soon || !dispatch)
            return;
        try {
            auto [payload, reply] = make_args();
            call_soon(dispatch, kind, payload, reply);
        } catch (py::error_already_set& e) {
            // The loop is closed (RuntimeError) or the message could not be converted: there is
            // nobody to tell but Python's hook for such errors; the reply object, dropped here,
            // answers NOT_ANSWERED.
            e.discard_as_unraisable(kind);
        }
    }
};

class native_client {
public:
    native_client(std::string url, std::string device_id, std::optional<std::string> secret,
                  std::optional<std::string> key_file, py::object capabilities, std::optional<std::string> firmware,
                  std::optional<std::string> ca_file, long long outbox_capacity, bool acknowledged_events,
                  double reconnect_initial, double reconnect_max)
    {
        robot::client_options o;
        o.url = std::move(url);
        o.device_id = std::move(device_id);
        if (secret.has_value() == key_file.has_value())
            throw std::invalid_argument("give exactly one of secret and key_file");
        if (secret) {
            if (secret->empty())
                throw std::invalid_argument("the device secret is empty");
            o.device_secret = std::move(*secret);
        } else {
            if (key_file->empty())
                throw std::invalid_argument("key_file is empty");
            o.device_key_file = std::move(*key_file);
        }
        if (!capabilities.is_none()) {
            auto caps = from_python(capabilities);
            if (!caps.is_object())
                throw std::invalid_argument("capabilities must be a dict");
            o.capabilities = std::move(caps.get_object());
        }
        o.firmware = std::move(firmware);
        if (ca_file)
            o.ca_file = std::move(*ca_file);
        if (outbox_capacity < 1)
            throw std::invalid_argument("outbox_capacity must be at least 1");
        o.outbox_capacity = static_cast<std::size_t>(outbox_capacity);
        o.acknowledged_events = acknowledged_events;
        o.reconnect.initial = seconds_to_ms(reconnect_initial, "reconnect_initial");
        o.reconnect.max = seconds_to_ms(reconnect_max, "reconnect_max");
        if (o.reconnect.max < o.reconnect.initial)
            throw std::invalid_argument("reconnect_max must not be below reconnect_initial");
        client_ = std::make_unique<robot::client>(std::move(o)); // std::invalid_argument -> ValueError
        install_callbacks();
    }

    ~native_client()
    {
        // Destroyed by Python with the GIL held: release it so a callback waiting for it can
        // see `closing` and return, then join the I/O thread.
        bridge_->closing = true;
        {
            py::gil_scoped_release release;
            shutdown();
        }
        // Null, not None: the bridge may die last on the I/O thread, without the GIL.
        bridge_->call_soon = py::object();
        bridge_->dispatch = py::object();
    }

    native_client(native_client const&) = delete;
    native_client& operator=(native_client const&) = delete;

    void set_sink(py::object call_soon, py::object dispatch)
    {
        bridge_->call_soon = std::move(call_soon);
        bridge_->dispatch = std::move(dispatch);
    }

    void start() { client_->start(); }

    void stop()
    {
        bridge_->closing = true;
        py::gil_scoped_release release;
        shutdown();
    }

    bool flush(double timeout)
    {
        auto ms = seconds_to_ms(timeout, "timeout");
        py::gil_scoped_release release;
        return client_->flush(ms);
    }

    // None, or (code, message) when the event was refused.
    std::optional<std::pair<std::string, std::string>> send_event(std::string const& name, py::object data)
    {
        std::optional<json::value> jv;
        if (!data.is_none())
            jv = from_python(data);
        auto ec = client_->send_event(name, std::move(jv));
        if (!ec)
            return std::nullopt;
        return std::pair{std::string(relay::wire_name(static_cast<relay::errc>(ec.value()))), ec.message()};
    }

    void hello(py::object capabilities, std::optional<std::string> firmware)
    {
        auto caps = from_python(capabilities);
        if (!caps.is_object())
            throw std::invalid_argument("capabilities must be a dict");
        client_->hello(std::move(caps.get_object()), std::move(firmware));
    }

    bool request_turn_credentials(std::string id) { return client_->request_turn_credentials(std::move(id)); }

    bool send_webrtc_offer(std::string session_id, std::string sdp)
    {
        return client_->send_webrtc_offer(std::move(session_id), std::move(sdp));
    }

    bool send_webrtc_ice(std::string session_id, py::object candidate)
    {
        std::optional<protocol::ice_candidate> c;
        if (!candidate.is_none())
            c = decode<protocol::ice_candidate>(from_python(candidate), "ICE candidate");
        return client_->send_webrtc_ice(std::move(session_id), std::move(c));
    }

    bool send_webrtc_close(std::string session_id, std::optional<std::string> reason)
    {
        return client_->send_webrtc_close(std::move(session_id), std::move(reason));
    }

    bool send_webrtc_stats(std::string session_id, std::string state, std::optional<std::string> connection_type,
                           std::optional<double> rtt_ms)
    {
        json::object o{{"session_id", session_id}, {"state", state}};
        if (connection_type)
            o["connection_type"] = *connection_type;
        if (rtt_ms)
            o["rtt_ms"] = *rtt_ms;
        return client_->send_webrtc_stats(decode<protocol::webrtc_stats>(o, "webrtc_stats"));
    }

    // Commands go to the loop, or (not enabled) get the C++ default answer UNKNOWN_COMMAND.
    void route_commands(bool enabled)
    {
        client_->on_command(enabled ? to_loop<py_command_reply, protocol::robot_command, robot::command_reply>("command")
                                    : nullptr);
    }

    // REST-tunnel requests go to the loop, or (not enabled) get the C++ default answer 501.
    void route_http(bool enabled)
    {
        client_->on_http_request(
            enabled ? to_loop<py_http_reply, protocol::robot_http_request, robot::http_reply>("http_request") : nullptr);
    }

    // REST-tunnel requests go to the local API through the SDK's forwarder, on worker threads as
    // robot-agent does (a slow local API must not hold up the connection's reading).
    void forward_rest(std::string const& local_api)
    {
        std::string why;
        auto target = robot::parse_http_target(local_api, why);
        if (!target)
            throw std::invalid_argument(why);
        {
            std::lock_guard lock(pool_mutex_);
            if (!pool_)
                pool_ = std::make_unique<boost::asio::thread_pool>(4);
        }
        auto* pool = pool_.get();
        client_->on_http_request([pool, api = *target](protocol::robot_http_request const& req, robot::http_reply reply) {
            boost::asio::post(*pool, [api, req, reply]() mutable { reply.send(robot::forward_to_local_api(api, req)); });
        });
    }

    bool connected() const noexcept { return client_->connected(); }

    py::dict stats() const
    {
        auto s = client_->stats();
        py::dict d;
        d["connected"] = s.connected;
        d["connections"] = s.connections;
        d["events_queued"] = s.events_queued;
        d["events_sent"] = s.events_sent;
        d["events_dropped"] = s.events_dropped;
        d["outbox_size"] = s.outbox_size;
        d["events_unacknowledged"] = s.events_unacknowledged;
        d["events_acknowledged"] = s.events_acknowledged;
        d["events_resent"] = s.events_resent;
        d["auth_failures"] = s.auth_failures;
        d["replaced"] = s.replaced;
        d["keepalive_timeouts"] = s.keepalive_timeouts;
        d["replies_dropped"] = s.replies_dropped;
        return d;
    }

private:
    // A callback handing a message that needs an answer to the loop, with its reply object.
    template <class PyReply, class Message, class Reply>
    std::function<void(Message const&, Reply)> to_loop(char const* kind)
    {
        return [b = bridge_, kind](Message const& message, Reply reply) {
            b->deliver(kind, [&] {
                return std::pair{to_python(json::value_from(message)), py::cast(PyReply{std::move(reply)})};
            });
        };
    }

    // Without the GIL: stops the client (joining its thread), then the forwarder's workers.
    void shutdown()
    {
        std::call_once(shutdown_once_, [this] {
            client_->stop();
            std::lock_guard lock(pool_mutex_);
            if (pool_) {
                pool_->stop(); // queued requests are dropped: their connection is gone anyway
                pool_->join();
            }
        });
    }

    void install_callbacks()
    {
        auto b = bridge_;
        client_->on_connected([b](robot::connection_info const& info) {
            b->deliver("connected", [&] {
                py::dict d;
                d["device_id"] = info.device_id;
                d["protocol"] = info.protocol;
                d["outbox_size"] = info.outbox_size;
                d["connections"] = info.connections;
                return std::pair{py::object(std::move(d)), py::object(py::none())};
            });
        });
        client_->on_disconnected([b](robot::disconnect_info const& info) {
            b->deliver("disconnected", [&] {
                py::dict d;
                d["reason"] = std::string(robot::to_string(info.reason));
                d["was_connected"] = info.was_connected;
                d["close_code"] = info.close_code;
                d["message"] = info.message;
                d["will_retry"] = info.will_retry;
                d["retry_in"] = std::chrono::duration<double>(info.retry_in).count();
                d["failures"] = info.failures;
                return std::pair{py::object(std::move(d)), py::object(py::none())};
            });
        });
        auto forward = [b](char const* kind) {
            return [b, kind](auto const& message) {
                b->deliver(kind, [&] { return std::pair{to_python(json::value_from(message)), py::object(py::none())}; });
            };
        };
        client_->on_webrtc_request(forward("webrtc_request"));
        client_->on_webrtc_answer(forward("webrtc_answer"));
        client_->on_webrtc_ice(forward("webrtc_ice"));
        client_->on_webrtc_close(forward("webrtc_close"));
        client_->on_turn_credentials(forward("turn_credentials"));
        client_->on_event_ack(forward("event_ack"));
        client_->on_error(forward("error"));
    }

    std::shared_ptr<bridge> bridge_ = std::make_shared<bridge>();
    std::mutex pool_mutex_;
    std::unique_ptr<boost::asio::thread_pool> pool_;
    std::once_flag shutdown_once_;
    std::unique_ptr<robot::client> client_; // last member: destroyed (stopped) first
};

} // namespace

PYBIND11_MODULE(_native, m)
{
    m.doc() = "relay::robot::client with thread-safe primitives; use the relay_robot package instead";

    py::class_<py_command_reply>(m, "CommandReply")
        .def("ok", &py_command_reply::ok, py::arg("data") = py::none())
        .def("fail", &py_command_reply::fail, py::arg("error"))
        .def_property_readonly("answered", [](py_command_reply const& r) { return r.reply.answered(); });

    py::class_<py_http_reply>(m, "HttpReply")
        .def("respond", &py_http_reply::respond, py::arg("status"), py::arg("body") = py::none(),
             py::arg("headers") = std::map<std::string, std::string>{})
        .def("respond_bytes", &py_http_reply::respond_bytes, py::arg("status"), py::arg("body"),
             py::arg("content_type"), py::arg("headers") = std::map<std::string, std::string>{})
        .def_property_readonly("answered", [](py_http_reply const& r) { return r.reply.answered(); });

    py::class_<native_client>(m, "Client")
        .def(py::init<std::string, std::string, std::optional<std::string>, std::optional<std::string>, py::object,
                      std::optional<std::string>, std::optional<std::string>, long long, bool, double, double>(),
             py::arg("url"), py::arg("device_id"), py::arg("secret"), py::arg("key_file"), py::arg("capabilities"),
             py::arg("firmware"), py::arg("ca_file"), py::arg("outbox_capacity"), py::arg("acknowledged_events"),
             py::arg("reconnect_initial"), py::arg("reconnect_max"))
        .def("set_sink", &native_client::set_sink, py::arg("call_soon_threadsafe"), py::arg("dispatch"))
        .def("start", &native_client::start)
        .def("stop", &native_client::stop)
        .def("flush", &native_client::flush, py::arg("timeout"))
        .def("send_event", &native_client::send_event, py::arg("name"), py::arg("data"))
        .def("hello", &native_client::hello, py::arg("capabilities"), py::arg("firmware"))
        .def("request_turn_credentials", &native_client::request_turn_credentials, py::arg("id"))
        .def("send_webrtc_offer", &native_client::send_webrtc_offer)
        .def("send_webrtc_ice", &native_client::send_webrtc_ice)
        .def("send_webrtc_close", &native_client::send_webrtc_close)
        .def("send_webrtc_stats", &native_client::send_webrtc_stats)
        .def("route_commands", &native_client::route_commands)
        .def("route_http", &native_client::route_http)
        .def("forward_rest", &native_client::forward_rest)
        .def_property_readonly("connected", &native_client::connected)
        .def("stats", &native_client::stats);
}
