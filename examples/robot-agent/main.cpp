// robot-agent: connects a robot to the relay without C++ on the robot. Events come in as JSON
// lines on stdin; commands are answered by a program or a webhook; REST-tunnel requests are
// forwarded to the robot's local API. Built on relay::robot::client.
#include "command_runner.hpp"
#include <relay/robot/local_api.hpp>

#include <relay/robot/client.hpp>
#include <relay/version.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace json = boost::json;
namespace robot = relay::robot;
namespace agent = relay::agent;
using namespace std::chrono_literals;

constexpr char const* usage = R"(usage: robot-agent --relay URL --device-id ID [options]

Connects this robot to the relay and keeps it connected (reconnecting with backoff).
Reads events as JSON lines on stdin, one per line:
    {"event":"battery","data":{"pct":80}}
and sends them to every app with access to the device. Events written while the relay is
unreachable wait in an outbox (see --outbox) and are sent in order once it is back.

The device secret is read from the RELAY_DEVICE_SECRET environment variable or from
--secret-file; it is never accepted as a flag value (flags show in `ps`). A device registered
with a public key authenticates with --key-file instead (no secret then).

options:
  --relay URL               the relay: https://relay.example.com, wss://..., or http://127.0.0.1:8000
  --device-id ID            this robot's device id
  --secret-file FILE        read the device secret from FILE (first line)
  --key-file FILE           authenticate with the Ed25519 private key in FILE (PKCS#8 PEM, as
                            `relay-cli device keygen --out FILE` writes it) instead of a secret
  --ca-file FILE            extra trusted CA certificates (PEM) for wss://
  --command-program PATH    answer commands by running PATH once per command: it gets the
                            command as JSON on stdin ({"type":"command","id","from_user",
                            "command","data"}) and RELAY_COMMAND, RELAY_COMMAND_ID,
                            RELAY_FROM_USER, RELAY_DEVICE_ID in its environment; it prints
                            {"ok":true,"data":...} or {"ok":false,"error":...} (other JSON is
                            the data; no output means success when it exits 0)
  --command-webhook URL     answer commands by POSTing them as JSON to http://URL (same result
                            format in the response body; a non-2xx status is a failure)
  --command-timeout SEC     how long a command may take (default 30)
  --local-api URL           forward REST-tunnel requests to the robot's local API, e.g.
                            http://127.0.0.1:5000
  --local-api-timeout SEC   how long the local API may take (default 10)
  --capabilities JSON       extra capabilities announced to the relay (a JSON object)
  --firmware VERSION        firmware version announced to the relay
  --outbox N                events kept while offline; the oldest are dropped beyond (default 1000)
  --workers N               commands and requests handled at once (default 4)
  --exit-on-eof             at the end of stdin, wait until every event reached the relay
                            (at most 60 s), then exit (0 when they did, 1 otherwise)
  --acknowledged-events     give each event an id and keep it until the relay acknowledges it;
                            unacknowledged events are sent again after a reconnect, and the
                            relay delivers a re-sent one only once (needs a relay of protocol
                            1.1; with --exit-on-eof, the wait is for the acknowledgements)
  --help                    this text

Without --command-program or --command-webhook, commands are answered UNKNOWN_COMMAND;
without --local-api, REST-tunnel requests are answered 501. WebRTC session requests are
declined at once with webrtc_close (the agent streams no media).
Stops cleanly on SIGINT or SIGTERM. Exit status: 0 success, 1 failure, 2 usage error.
)";

struct config {
    std::string relay;
    std::string device_id;
    std::string secret;
    std::string key_file; // a device key instead of the secret
    std::string ca_file;
    std::string command_program;
    std::optional<robot::http_target> command_webhook;
    std::chrono::milliseconds command_timeout{30s};
    std::optional<robot::http_target> local_api;
    std::chrono::milliseconds local_api_timeout{10s};
    json::object capabilities;
    std::optional<std::string> firmware;
    std::size_t outbox = 1000;
    unsigned workers = 4;
    bool exit_on_eof = false;
    bool acknowledged_events = false;
};

struct usage_error {
    std::string message;
};

/** Serialized lines on stderr, stamped, so logs from several threads stay readable. */
class logger {
public:
    void operator()(std::string const& line)
    {
        std::lock_guard lock(mutex_);
        auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        std::tm tm{};
        gmtime_r(&now, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        std::cerr << stamp << " robot-agent: " << line << std::endl;
    }

private:
    std::mutex mutex_;
};

/** A few threads for commands and tunnelled requests, which may take seconds each. */
class work_pool {
public:
    explicit work_pool(unsigned threads)
    {
        for (unsigned i = 0; i < threads; ++i)
            threads_.emplace_back([this] { run(); });
    }
    ~work_pool() { stop(); }

    void post(std::function<void()> task)
    {
        std::lock_guard lock(mutex_);
        if (!stopping_)
            tasks_.push_back(std::move(task));
        cv_.notify_one();
    }

    /** Runs what was already queued, then joins. */
    void stop()
    {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            if (t.joinable())
                t.join();
    }

private:
    void run()
    {
        for (;;) {
            std::function<void()> task;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
                if (tasks_.empty())
                    return;
                task = std::move(tasks_.front());
                tasks_.pop_front();
            }
            task();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

/** Warns when a file holding a credential can be read by others than its owner. */
void warn_if_shared(std::string const& path, logger& log)
{
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
        log("warning: " + path + " is readable by other users; chmod 600 it");
}

std::string read_secret_file(std::string const& path, logger& log)
{
    std::ifstream in(path);
    if (!in)
        throw usage_error{"cannot read --secret-file " + path};
    warn_if_shared(path, log);
    std::string secret;
    std::getline(in, secret);
    while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ' || secret.back() == '\t'))
        secret.pop_back();
    return secret;
}

std::chrono::milliseconds seconds_value(std::string const& flag, std::string const& text)
{
    char* end = nullptr;
    double s = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(s > 0) || s > 86400)
        throw usage_error{flag + " needs a number of seconds, got '" + text + "'"};
    return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

unsigned long count_value(std::string const& flag, std::string const& text, unsigned long max)
{
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9)
        throw usage_error{flag + " needs a positive number, got '" + text + "'"};
    auto n = std::stoul(text);
    if (n == 0 || n > max)
        throw usage_error{flag + " must be between 1 and " + std::to_string(max)};
    return n;
}

config parse_args(int argc, char** argv, logger& log)
{
    config c;
    std::string secret_file;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_inline = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_inline = true;
        }
        auto next = [&]() -> std::string {
            if (has_inline)
                return value;
            if (i + 1 >= argc)
                throw usage_error{arg + " needs a value"};
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            std::exit(0);
        } else if (arg == "--relay") {
            c.relay = next();
        } else if (arg == "--device-id") {
            c.device_id = next();
        } else if (arg == "--secret" || arg == "--device-secret") {
            throw usage_error{"the device secret is never a flag value (flags show in `ps`); set RELAY_DEVICE_SECRET "
                              "or use --secret-file"};
        } else if (arg == "--secret-file") {
            secret_file = next();
        } else if (arg == "--key-file") {
            c.key_file = next();
        } else if (arg == "--ca-file") {
            c.ca_file = next();
        } else if (arg == "--command-program") {
            c.command_program = next();
            if (::access(c.command_program.c_str(), X_OK) != 0)
                throw usage_error{"--command-program " + c.command_program + " is not an executable file"};
        } else if (arg == "--command-webhook") {
            std::string why;
            c.command_webhook = robot::parse_http_target(next(), why);
            if (!c.command_webhook)
                throw usage_error{"--command-webhook: " + why};
        } else if (arg == "--command-timeout") {
            c.command_timeout = seconds_value(arg, next());
        } else if (arg == "--local-api") {
            std::string why;
            c.local_api = robot::parse_http_target(next(), why);
            if (!c.local_api)
                throw usage_error{"--local-api: " + why};
        } else if (arg == "--local-api-timeout") {
            c.local_api_timeout = seconds_value(arg, next());
        } else if (arg == "--capabilities") {
            boost::system::error_code ec;
            auto v = json::parse(next(), ec);
            if (ec || !v.is_object())
                throw usage_error{"--capabilities needs a JSON object"};
            c.capabilities = v.as_object();
        } else if (arg == "--firmware") {
            c.firmware = next();
        } else if (arg == "--outbox") {
            c.outbox = count_value(arg, next(), 10'000'000);
        } else if (arg == "--workers") {
            c.workers = static_cast<unsigned>(count_value(arg, next(), 64));
        } else if (arg == "--exit-on-eof") {
            c.exit_on_eof = true;
        } else if (arg == "--acknowledged-events") {
            c.acknowledged_events = true;
        } else {
            throw usage_error{"unknown argument '" + arg + "'"};
        }
    }
    if (c.relay.empty())
        throw usage_error{"--relay is required"};
    if (c.device_id.empty())
        throw usage_error{"--device-id is required"};
    if (!c.command_program.empty() && c.command_webhook)
        throw usage_error{"use --command-program or --command-webhook, not both"};
    if (!c.key_file.empty()) {
        // The key file is read (and checked) by the client; a secret beside it is a mistake.
        if (!secret_file.empty())
            throw usage_error{"use --key-file or --secret-file, not both"};
        warn_if_shared(c.key_file, log);
        return c;
    }
    if (!secret_file.empty()) {
        c.secret = read_secret_file(secret_file, log);
    } else if (auto* env = std::getenv("RELAY_DEVICE_SECRET")) {
        c.secret = env;
    }
    if (c.secret.empty())
        throw usage_error{"no device secret: set RELAY_DEVICE_SECRET, use --secret-file, or use --key-file"};
    return c;
}

/** Lines from stdin, giving up promptly when `stop` turns true. */
class stdin_lines {
public:
    explicit stdin_lines(std::atomic<bool> const& stop) : stop_(stop) {}

    /** The next line (without its newline); nullopt at the end of input or when stopped. */
    std::optional<std::string> next()
    {
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                auto line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            if (eof_) {
                if (buffer_.empty())
                    return std::nullopt;
                return std::exchange(buffer_, {});
            }
            if (stop_.load())
                return std::nullopt;
            pollfd fd{0, POLLIN, 0};
            int r = ::poll(&fd, 1, 200);
            if (r < 0 && errno != EINTR) {
                eof_ = true;
                continue;
            }
            if (r <= 0)
                continue;
            char chunk[4096];
            auto n = ::read(0, chunk, sizeof chunk);
            if (n > 0)
                buffer_.append(chunk, static_cast<std::size_t>(n));
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                eof_ = true;
        }
    }

private:
    std::atomic<bool> const& stop_;
    std::string buffer_;
    bool eof_ = false;
};

std::string describe(robot::disconnect_info const& d)
{
    std::ostringstream out;
    out << "disconnected (" << robot::to_string(d.reason);
    if (d.close_code)
        out << ", close " << d.close_code;
    out << "): " << d.message;
    if (d.will_retry)
        out << "; retrying in " << d.retry_in.count() / 1000.0 << " s";
    else
        out << "; not retrying";
    return out.str();
}

int run(config const& cfg, logger& log, std::atomic<bool>& stop, std::condition_variable& stop_cv, std::mutex& stop_mutex)
{
    robot::client_options options;
    options.url = cfg.relay;
    options.device_id = cfg.device_id;
    options.device_secret = cfg.secret;
    options.device_key_file = cfg.key_file;
    options.ca_file = cfg.ca_file;
    options.outbox_capacity = cfg.outbox;
    options.acknowledged_events = cfg.acknowledged_events;
    options.firmware = cfg.firmware;
    options.capabilities = {{"agent", "robot-agent/" + std::string(relay::version)},
                            {"commands", !cfg.command_program.empty() || cfg.command_webhook.has_value()},
                            {"rest_api", cfg.local_api.has_value()}};
    for (auto const& [k, v] : cfg.capabilities)
        options.capabilities[k] = v;

    // The client's callbacks post to the pool and pool tasks read the cancel flag, so both are
    // declared first: on any exit the client (and its callbacks) goes before them.
    std::atomic<bool> cancel{false};
    work_pool pool(cfg.workers);
    robot::client client(options);

    client.on_connected([&](robot::connection_info const& info) {
        log("connected to " + cfg.relay + " as " + info.device_id + " (" + std::to_string(info.outbox_size) +
            " queued events follow)");
    });
    client.on_disconnected([&](robot::disconnect_info const& d) { log(describe(d)); });
    client.on_error([&](relay::protocol::error const& e) {
        log("relay error " + std::string(relay::wire_name(e.code)) + ": " + e.message + (e.ref ? " (ref " + *e.ref + ")" : ""));
    });
    if (!cfg.command_program.empty() || cfg.command_webhook) {
        client.on_command([&](relay::protocol::robot_command const& cmd, robot::command_reply reply) {
            pool.post([&, cmd, reply]() mutable {
                agent::command_outcome outcome;
                if (!cfg.command_program.empty()) {
                    agent::program_options p{cfg.command_program, cfg.command_timeout, 1024 * 1024, cfg.device_id};
                    outcome = agent::run_command_program(p, cmd, cancel);
                } else {
                    outcome = agent::call_command_webhook(*cfg.command_webhook, cmd, cfg.command_timeout);
                }
                log("command " + cmd.command + " (" + cmd.id + ") from " + cmd.from_user + ": " + (outcome.ok ? "ok" : "failed"));
                relay::protocol::robot_command_result result;
                result.ok = outcome.ok;
                result.data = std::move(outcome.data);
                result.error = std::move(outcome.error);
                reply.send(std::move(result));
            });
        });
    }
    if (cfg.local_api) {
        client.on_http_request([&](relay::protocol::robot_http_request const& req, robot::http_reply reply) {
            pool.post([&, req, reply]() mutable {
                auto response = robot::forward_to_local_api(*cfg.local_api, req, {cfg.local_api_timeout, 1024 * 1024});
                log(req.method + " " + req.path + " -> " + std::to_string(response.status));
                reply.send(std::move(response));
            });
        });
    }
    // No media here: say so at once rather than let the app wait for an offer that never comes.
    client.on_webrtc_request([&](relay::protocol::robot_webrtc_request const& req) {
        log("webrtc_request " + req.session_id + " from " + req.from_user + ": declined (robot-agent streams no media)");
        client.send_webrtc_close(req.session_id, "this robot's agent does not stream media");
    });
    client.start();

    int status = 0;
    stdin_lines lines(stop);
    std::size_t line_number = 0;
    bool reached_eof = false;
    for (;;) {
        auto line = lines.next();
        if (!line) {
            reached_eof = !stop.load();
            break;
        }
        ++line_number;
        if (line->find_first_not_of(" \t\r") == std::string::npos)
            continue;
        boost::system::error_code ec;
        auto v = json::parse(*line, ec);
        auto* o = ec ? nullptr : v.if_object();
        auto* name = o ? o->if_contains("event") : nullptr;
        if (!name || !name->is_string()) {
            log("stdin line " + std::to_string(line_number) + ": expected {\"event\":\"name\",\"data\":...}, ignored");
            continue;
        }
        std::optional<json::value> data;
        if (auto* d = o->if_contains("data"))
            data = *d;
        if (auto err = client.send_event(std::string_view(name->as_string()), std::move(data)))
            log("stdin line " + std::to_string(line_number) + ": event refused (" +
                std::string(err == relay::errc::message_too_large ? "too large" : "bad event name") + "), ignored");
    }

    if (reached_eof && cfg.exit_on_eof) {
        bool flushed = client.flush(60s);
        std::string done = flushed ? "end of input: every event reached the relay"
                                   : "end of input: events still waiting, giving up";
        if (cfg.acknowledged_events)
            done += " (" + std::to_string(client.stats().events_acknowledged) + " acknowledged)";
        log(done);
        status = flushed ? 0 : 1;
    } else if (reached_eof) {
        // Events are done; keep answering commands and requests until told to stop.
        std::unique_lock lock(stop_mutex);
        stop_cv.wait(lock, [&] { return stop.load(); });
    }
    cancel = true;
    pool.stop();
    client.stop();
    return status;
}

} // namespace

int main(int argc, char** argv)
{
    logger log;
    // Signals are taken by one thread with sigwait, so no handler and no global state are needed;
    // SIGPIPE is ignored because a command program may exit before reading its input.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    config cfg;
    try {
        cfg = parse_args(argc, argv, log);
    } catch (usage_error const& e) {
        std::cerr << "robot-agent: " << e.message << "\n(robot-agent --help for usage)\n";
        return 2;
    }

    std::atomic<bool> stop{false};
    std::mutex stop_mutex;
    std::condition_variable stop_cv;
    std::thread signal_thread([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        {
            std::lock_guard lock(stop_mutex);
            stop = true;
        }
        stop_cv.notify_all();
    });

    int status = 0;
    try {
        status = run(cfg, log, stop, stop_cv, stop_mutex);
    } catch (std::invalid_argument const& e) {
        std::cerr << "robot-agent: " << e.what() << "\n";
        status = 2;
    } catch (std::exception const& e) {
        log(std::string("fatal: ") + e.what());
        status = 1;
    }
    log("stopped");
    // Wake the signal thread if no signal came.
    if (!stop.load())
        ::kill(::getpid(), SIGTERM);
    signal_thread.join();
    return status;
}
