#include "store/pg_pool.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>

namespace relay::store::detail::pg {
namespace {

constexpr std::chrono::milliseconds first_backoff{500};
constexpr std::chrono::milliseconds max_backoff{5000};

std::string seconds_rounded_up(std::chrono::milliseconds ms, long minimum)
{
    auto const s = std::max<long>(minimum, static_cast<long>((ms.count() + 999) / 1000));
    return std::to_string(s);
}

// libpq echoes pieces of a URL it cannot parse ("invalid percent-encoded token: …"), which can
// be the password: take every password the URL holds out of a message before anyone sees it.
void scrub_passwords(std::string& message, std::string_view url)
{
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        // Unparsable here means libpq's message may quote any part of it.
        message = "the database URL is not a valid URL";
        return;
    }
    std::vector<std::string> secrets{std::string(parsed->encoded_password()), parsed->password()};
    for (auto param : parsed->params())
        if (param.key == "password" && param.has_value)
            secrets.push_back(param.value);
    for (auto param : parsed->encoded_params())
        if (param.key == "password" && param.has_value)
            secrets.emplace_back(std::string(param.value));
    for (auto const& secret : secrets) {
        if (secret.empty())
            continue;
        for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret, at + 3))
            message.replace(at, secret.size(), "***");
    }
}

} // namespace

conn_ptr connect(server_address const& address, store_options const& options, std::string& why)
{
    // Defaults first: with expand_dbname, the URL (the last entry) overrides what it names too.
    // Keepalives and tcp_user_timeout make a server that vanished without closing (a dead host)
    // noticed within seconds instead of the kernel's minutes.
    std::string const timeout = seconds_rounded_up(options.connect_timeout, 2);
    std::array<char const*, 9> keywords{"connect_timeout",    "application_name", "keepalives",
                                        "keepalives_idle",    "keepalives_interval", "keepalives_count",
                                        "tcp_user_timeout",   "dbname",           nullptr};
    std::array<char const*, 9> values{timeout.c_str(), "relayd", "1", "10", "5", "3", "10000",
                                      address.url.c_str(), nullptr};
    conn_ptr conn(PQconnectdbParams(keywords.data(), values.data(), 1));
    if (!conn) {
        why = "out of memory";
        return nullptr;
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        why = one_line(PQerrorMessage(conn.get()));
        scrub_passwords(why, address.url);
        return nullptr;
    }
    // A transaction left open by a stuck caller must not hold its locks for ever.
    auto const statement_ms = std::max<long long>(1, options.statement_timeout.count());
    auto const idle_ms = std::max<long long>(10000, 4 * statement_ms);
    std::string const settings = "SET statement_timeout = " + std::to_string(statement_ms) +
                                 "; SET idle_in_transaction_session_timeout = " + std::to_string(idle_ms);
    result_ptr set(PQexec(conn.get(), settings.c_str()));
    if (!set || PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
        why = one_line(PQerrorMessage(conn.get()));
        return nullptr;
    }
    return conn;
}

pool::pool(server_address address, store_options const& options, telemetry::logger& log)
    : address_(std::move(address)), options_(options), log_(log),
      wait_limit_(std::max(options.connect_timeout, std::chrono::milliseconds(1000)))
{
}

result<pool::lease> pool::acquire(std::string& why)
{
    auto const deadline = std::chrono::steady_clock::now() + wait_limit_;
    std::unique_lock lock(mutex_);
    for (;;) {
        while (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            if (c->healthy())
                return lease(this, std::move(c));
            --open_; // closed by the server meanwhile (a restart): open another
        }
        auto const now = std::chrono::steady_clock::now();
        if (now < down_until_ || (down_ && probing_)) {
            // Fail at once: every caller waiting a connect timeout would fill the worker pool.
            // While down, one caller at a time probes whether the server is back.
            why = down_why_;
            return errc::unavailable;
        }
        if (open_ < std::max<std::size_t>(1, options_.pool_size)) {
            ++open_;
            bool const probe = down_;
            probing_ = probe;
            lock.unlock();
            std::string failed;
            auto conn = connect(address_, options_, failed);
            lock.lock();
            if (probe)
                probing_ = false;
            if (!conn) {
                --open_;
                mark_down(failed);
                why = failed;
                return errc::unavailable;
            }
            mark_up();
            return lease(this, std::make_unique<connection>(std::move(conn)));
        }
        if (freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
            std::chrono::steady_clock::now() >= down_until_ && open_ >= options_.pool_size) {
            why = "all " + std::to_string(options_.pool_size) + " connections stayed busy";
            return errc::unavailable;
        }
    }
}

void pool::mark_down(std::string const& why)
{
    // Back-off doubles while the server stays away; the first caller after it tries again.
    down_until_ = std::chrono::steady_clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, max_backoff);
    down_why_ = why;
    if (!down_) {
        down_ = true;
        log_.warn("store.postgresql_down",
                  {{"server", std::string_view(address_.redacted)}, {"message", std::string_view(why)}});
    }
    freed_.notify_all(); // waiters fail now instead of at their deadline
}

void pool::mark_up()
{
    backoff_ = first_backoff;
    down_until_ = {};
    if (down_) {
        down_ = false;
        log_.warn("store.postgresql_up", {{"server", std::string_view(address_.redacted)}});
    }
}

void pool::give_back(std::unique_ptr<connection> c)
{
    std::lock_guard lock(mutex_);
    if (c->bad()) {
        --open_;
    } else {
        idle_.push_back(std::move(c));
    }
    freed_.notify_one();
}

void pool::forget(bool drop_idle)
{
    std::lock_guard lock(mutex_);
    --open_;
    if (drop_idle) {
        open_ -= idle_.size();
        idle_.clear();
    }
    freed_.notify_one();
}

pool::lease::~lease()
{
    if (pool_ && conn_)
        pool_->give_back(std::move(conn_));
}

void pool::lease::discard(bool lost)
{
    if (!pool_ || !conn_)
        return;
    conn_.reset();
    pool_->forget(lost);
}

} // namespace relay::store::detail::pg
