#include "relay_target.hpp"

#include <relay/robot/local_api.hpp>

#include <relay/store/store.hpp>
#include <relay_support/process.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace relay::bench {
namespace {

/** `digits` random hex digits: a fresh key, so the relay does not warn that it made one up. */
std::string random_hex(int digits)
{
    std::random_device rd;
    std::string s;
    for (int i = 0; i < digits; ++i)
        s += "0123456789abcdef"[rd() % 16];
    return s;
}

/** The settings that make a spawned relay measure routing rather than its protections: rate
 * limits and send queues far above what the bench offers, fast password hashing, the store the
 * options name, and quiet logs so that logging thousands of connects is not measured. The
 * sealing key is given (a PostgreSQL database requires it; a SQLite one then has no key file). */
std::map<std::string, std::string> bench_settings(target_options const& opts)
{
    std::map<std::string, std::string> s{
        {"RELAY_HOST", "127.0.0.1"},
        {"RELAY_PORT", "0"},
        {"RELAY_DATABASE", opts.database},
        {"RELAY_SCRYPT_LN", "10"},
        {"RELAY_THREADS", std::to_string(opts.relay_threads)},
        {"RELAY_LOG_LEVEL", opts.relay_log_level},
        {"RELAY_APP_RATE", "1000000/1000000"},
        {"RELAY_ROBOT_RATE", "1000000/1000000"},
        {"RELAY_SEND_QUEUE_MAX_MESSAGES", "1000000"},
        {"RELAY_SEND_QUEUE_MAX_BYTES", "1073741824"},
        {"RELAY_ACCESS_TTL", "86400"},
        {"RELAY_AUTH_TIMEOUT", "60"},
        {"RELAY_JWT_SECRET", random_hex(48)},
        {"RELAY_SECRET_KEY", random_hex(64)},
    };
    for (auto const& kv : opts.relay_env) {
        auto eq = kv.find('=');
        s[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return s;
}

/** Only loopback: the bench must never load anything but this machine. */
bool is_loopback(std::string const& host)
{
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address_v4(host, ec);
    return !ec && (a.to_uint() >> 24) == 127;
}

} // namespace

std::vector<std::unique_ptr<relay_target>> relay_target::open_nodes(target_options const& opts)
{
    std::vector<std::unique_ptr<relay_target>> nodes;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, opts.relay_urls.size()); ++i)
        nodes.push_back(open(opts, i));
    return nodes;
}

std::unique_ptr<relay_target> relay_target::open(target_options const& opts, std::size_t node)
{
    std::unique_ptr<relay_target> t(new relay_target());
    if (!opts.relay_urls.empty()) {
        // The same http://host[:port] parsing robot-agent gives its local services.
        std::string why;
        auto target = robot::parse_http_target(opts.relay_urls.at(node), why);
        if (!target)
            throw std::runtime_error("--relay must be http://127.x.x.x:PORT: " + why);
        std::string host = target->host == "localhost" ? std::string("127.0.0.1") : target->host;
        if (!is_loopback(host))
            throw std::runtime_error("--relay must be http://127.x.x.x:PORT (the bench only loads this machine)");
        t->host_ = host;
        t->port_ = target->port;
        t->pid_ = node < opts.relayd_pids.size() ? opts.relayd_pids[node] : 0;
        return t;
    }

    t->settings_ = bench_settings(opts);
    if (t->settings_["RELAY_DATABASE"].empty()) {
        char dir_template[] = "/tmp/relay-bench-db-XXXXXX";
        if (!::mkdtemp(dir_template))
            throw std::runtime_error("cannot create a directory for the database");
        t->database_dir_ = dir_template;
        t->settings_["RELAY_DATABASE"] = t->database_dir_ + "/relay.db";
    }
    t->port_ = support::free_loopback_port();
    t->settings_["RELAY_PORT"] = std::to_string(t->port_);
    char log_template[] = "/tmp/relay-bench-relayd-XXXXXX";
    int log_fd = ::mkstemp(log_template);
    if (log_fd < 0)
        throw std::runtime_error("cannot create a log file for relayd");
    ::close(log_fd);
    t->log_path_ = log_template;

    support::spawn_options spawn;
    spawn.argv = {opts.spawn_path};
    spawn.env = t->settings_;
    if (auto* path = std::getenv("PATH"))
        spawn.env->emplace("PATH", path);
    spawn.output_path = t->log_path_;
    // The relay must not outlive a bench that crashed or was killed.
    spawn.end_with_parent = true;
    // Stopped with SIGTERM, its shutdown grace given, then SIGKILL.
    spawn.stop_grace = std::chrono::seconds(15);
    t->process_ = std::make_unique<support::child_process>(std::move(spawn));
    t->pid_ = t->process_->pid();
    t->spawned_ = true;
    t->host_ = "127.0.0.1";

    // The relay logs its port only at info level; the bench keeps it at warn, so it picks the
    // port itself (free a moment ago) and waits until the relay accepts connections there.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!t->process_->running()) {
            t->pid_ = 0;
            throw std::runtime_error("relayd exited at start:\n" + support::read_text(t->log_path_));
        }
        if (support::wait_listening(t->port_, std::chrono::milliseconds(0)))
            return t;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("relayd did not start listening:\n" + support::read_text(t->log_path_));
}

relay_target::~relay_target()
{
    process_.reset(); // SIGTERM, its shutdown grace, then SIGKILL
    if (!database_dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(database_dir_, ignored);
    }
    if (!log_path_.empty()) {
        // Keep the relay's log only when it said something worth reading (warnings, errors).
        if (support::read_text(log_path_).empty())
            std::remove(log_path_.c_str());
        else
            fmt::print(stderr, "relay-bench: relayd's log is in {}\n", log_path_);
    }
}

std::string setting_for_report(std::string const& key, std::string const& value)
{
    if (key == "RELAY_JWT_SECRET")
        return "(random, 48 hex)";
    if (key == "RELAY_SECRET_KEY")
        return "(random, 64 hex)";
    if (key == "RELAY_DATABASE")
        return store::redact_location(value);
    return value;
}

long read_rss_kb(pid_t pid)
{
    if (pid <= 0)
        return -1;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:"))
            return std::atol(line.c_str() + 6);
    return -1;
}

namespace {

/** The fields of /proc/<pid>/stat a CPU figure needs, in clock ticks. */
struct proc_times {
    long ppid = 0;
    unsigned long utime = 0, stime = 0;  ///< the process's own
    unsigned long cutime = 0, cstime = 0; ///< children it has waited for
};

std::optional<proc_times> read_proc_times(std::string const& pid)
{
    auto text = support::read_text("/proc/" + pid + "/stat");
    // The command name is in parentheses and may hold spaces; fields are counted after it.
    auto close = text.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    proc_times t;
    // After ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    for (int n = 3; n <= 17 && fields >> field; ++n) {
        if (n == 4) t.ppid = std::stol(field);
        if (n == 14) t.utime = std::stoul(field);
        if (n == 15) t.stime = std::stoul(field);
        if (n == 16) t.cutime = std::stoul(field);
        if (n == 17) t.cstime = std::stoul(field);
    }
    return t;
}

double ticks_to_seconds(unsigned long ticks)
{
    return double(ticks) / double(::sysconf(_SC_CLK_TCK));
}

} // namespace

double read_cpu_seconds(pid_t pid)
{
    auto t = pid > 0 ? read_proc_times(std::to_string(pid)) : std::nullopt;
    return t ? ticks_to_seconds(t->utime + t->stime) : -1;
}

double read_tree_cpu_seconds(pid_t pid)
{
    auto root = pid > 0 ? read_proc_times(std::to_string(pid)) : std::nullopt;
    if (!root)
        return -1;
    auto ticks = root->utime + root->stime + root->cutime + root->cstime;
    std::error_code ec;
    for (auto const& entry : std::filesystem::directory_iterator("/proc", ec)) {
        auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        if (auto t = read_proc_times(name); t && t->ppid == pid)
            ticks += t->utime + t->stime + t->cutime + t->cstime;
    }
    return ticks_to_seconds(ticks);
}

double own_cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

unsigned long raise_open_file_limit()
{
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
    return lim.rlim_cur;
}

} // namespace relay::bench
