// RELAY_TURN_PROVIDER=cloudflare: credentials issued by Cloudflare's TURN API, cached per
// subject, with retries for transient failures and an honest answer when there are none.
#include <relay/turn/cloudflare.hpp>

#include "https_client.hpp"
#include "ice_list.hpp"

#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value_to.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace relay::turn {
namespace {

using time_point = std::chrono::system_clock::time_point;

/** A cached credential is served only while it has this long left, even to fall back on:
 * shorter than that and a client may not finish allocating before it expires. */
constexpr std::int64_t min_usable_seconds = 30;

/** Lifetime of the credential health() asks for; it is never handed out. */
constexpr std::chrono::seconds probe_ttl{300};

bool valid_key_id(std::string_view id)
{
    return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

/** Why Cloudflare refused the request, with what the operator should check. */
std::string refusal_reason(unsigned status)
{
    std::string code = " (HTTP " + std::to_string(status) + ")";
    switch (status) {
    case 401:
    case 403:
        return "the Cloudflare TURN API refused the API token" + code + "; check RELAY_CF_TURN_API_TOKEN";
    case 404:
        return "the Cloudflare TURN API does not know the TURN key" + code + "; check RELAY_CF_TURN_KEY_ID";
    case 429:
        return "the Cloudflare TURN API is rate-limiting credential issuance" + code;
    default:
        return "the Cloudflare TURN API rejected the request" + code;
    }
}

/** `c` as it is handed out at `t`: `ttl` is the lifetime left. */
protocol::ice_credentials served(protocol::ice_credentials c, time_point t)
{
    c.ttl = static_cast<std::uint64_t>(std::max<std::int64_t>(c.expires_at - unix_seconds(t), 0));
    return c;
}

/** Whether a cached credential is good without asking again: more than a quarter of the
 * lifetime it was issued with is left. */
bool fresh(protocol::ice_credentials const& c, time_point t)
{
    std::int64_t left = c.expires_at - unix_seconds(t);
    return left > 0 && static_cast<std::uint64_t>(left) * 4 > c.ttl;
}

bool usable(protocol::ice_credentials const& c, time_point t)
{
    return c.expires_at - unix_seconds(t) >= min_usable_seconds;
}

} // namespace

struct cloudflare_provider::impl {
    explicit impl(cloudflare_options o, detail::https_endpoint endpoint)
        : options(std::move(o)),
          client(endpoint, options.ca_file),
          target(endpoint.path_prefix + "/turn/keys/" + options.key_id + "/credentials/generate-ice-servers")
    {
        if (options.metrics) {
            auto& m = *options.metrics;
            char const* help = "Calls to the TURN provider's credential API, by outcome.";
            api_ok = &m.get_counter("relay_turn_api_requests_total", help, {{"outcome", "ok"}});
            api_client_error = &m.get_counter("relay_turn_api_requests_total", help, {{"outcome", "client_error"}});
            api_server_error = &m.get_counter("relay_turn_api_requests_total", help, {{"outcome", "server_error"}});
            api_network_error = &m.get_counter("relay_turn_api_requests_total", help, {{"outcome", "network_error"}});
            cache_hits = &m.get_counter("relay_turn_cache_hits_total",
                                        "TURN credentials served from the cache without an API call.");
        }
    }

    /** One issuance: up to `attempts` API calls. Blocks; called without the mutex held. */
    credentials_result issue(std::chrono::seconds ttl);
    /** Turns a 2xx answer into the wire object, expiring `ttl` after `started`. */
    credentials_result normalize(std::string const& body, std::chrono::seconds ttl, time_point started) const;
    void warn(std::string_view problem, unsigned attempt) const;
    static void count(telemetry::counter* c) noexcept
    {
        if (c) c->inc();
    }

    // Mutex held from here on.
    void record(time_point t, std::string problem);
    void prune(time_point t);
    credentials_result fall_back(std::string const& subject, time_point t, std::string const& reason);

    cloudflare_options const options;
    detail::https_client client;
    std::string const target;

    telemetry::counter* api_ok = nullptr;
    telemetry::counter* api_client_error = nullptr;
    telemetry::counter* api_server_error = nullptr;
    telemetry::counter* api_network_error = nullptr;
    telemetry::counter* cache_hits = nullptr;

    struct entry {
        std::optional<protocol::ice_credentials> credentials; ///< as issued (ttl = issued lifetime)
        bool issuing = false; ///< a caller is asking the API for this subject right now
    };
    struct outcome {
        time_point at;
        std::string problem; ///< empty for a success
    };

    std::mutex mutex; // guards everything below
    std::condition_variable issued; // notified whenever an issuance for some subject ends
    std::unordered_map<std::string, entry> cache;
    std::optional<outcome> last;  ///< of the latest API issuance, for health()
    time_point hold_until{};      ///< until then, misses fail fast with hold_reason
    std::string hold_reason;
    bool probing = false;         ///< health() is asking the API
};

void cloudflare_provider::impl::warn(std::string_view problem, unsigned attempt) const
{
    if (options.log)
        options.log->warn("turn_api_failed", {{"provider", "cloudflare"}, {"attempt", attempt}, {"problem", problem}});
}

credentials_result cloudflare_provider::impl::issue(std::chrono::seconds ttl)
{
    time_point started = now(options.clock);
    std::string const body = "{\"ttl\":" + std::to_string(ttl.count()) + "}";
    detail::https_timeouts const timeouts{options.connect_timeout, options.read_timeout};
    unsigned const attempts = std::max(options.attempts, 1u);
    std::string problem;
    for (unsigned attempt = 1; attempt <= attempts; ++attempt) {
        if (attempt > 1)
            std::this_thread::sleep_for(options.backoff * (1u << std::min(attempt - 2, 10u)));
        detail::https_reply reply;
        detail::https_failure failed;
        if (!client.post_json(target, options.api_token, body, timeouts, reply, failed)) {
            count(api_network_error);
            problem = "the Cloudflare TURN API is unreachable: " + failed.what;
            warn(problem, attempt);
            if (!failed.retryable)
                return failure{make_error_code(errc::turn_unavailable), problem};
            continue;
        }
        if (reply.status >= 200 && reply.status < 300) {
            count(api_ok);
            auto normalized = normalize(reply.body, ttl, started);
            if (!normalized)
                warn(normalized.error().reason, attempt);
            return normalized;
        }
        if (reply.status >= 500) {
            count(api_server_error);
            problem = "the Cloudflare TURN API failed (HTTP " + std::to_string(reply.status) + ")";
            warn(problem, attempt);
            continue;
        }
        // 4xx: asking again gets the same answer (and a 429 only makes it worse).
        count(api_client_error);
        problem = refusal_reason(reply.status);
        warn(problem, attempt);
        return failure{make_error_code(errc::turn_unavailable), problem};
    }
    return failure{make_error_code(errc::turn_unavailable),
                   problem + " (" + std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)")};
}

credentials_result cloudflare_provider::impl::normalize(std::string const& body, std::chrono::seconds ttl,
                                                        time_point started) const
{
    auto malformed = [](std::string what) {
        return failure{make_error_code(errc::turn_unavailable), "the Cloudflare TURN API answered " + what};
    };
    boost::system::error_code ec;
    auto json = boost::json::parse(body, ec);
    if (ec || !json.is_object())
        return malformed("something that is not a JSON object");
    auto const* list = json.as_object().if_contains("iceServers");
    if (!list || !list->is_array())
        return malformed("without an iceServers list");

    // Cloudflare sends STUN and TURN URLs in separate entries today and mixed in one entry in
    // older answers; either way TURN URLs keep their credential and STUN URLs go together.
    protocol::ice_credentials out;
    std::vector<protocol::ice_server> turn_servers;
    std::vector<std::string> stun_urls;
    for (auto const& item : list->as_array()) {
        auto server = boost::json::try_value_to<protocol::ice_server>(item);
        if (!server)
            return malformed("an iceServers entry that is not an RTCIceServer");
        protocol::ice_server turn_part{{}, server->username, server->credential};
        for (auto& url : server->urls) {
            if (is_turn_url(url))
                turn_part.urls.push_back(std::move(url));
            else if (is_stun_url(url))
                stun_urls.push_back(std::move(url));
        }
        if (turn_part.urls.empty())
            continue;
        if (!turn_part.username || turn_part.username->empty() || !turn_part.credential || turn_part.credential->empty())
            return malformed("TURN URLs without a username and credential");
        // Cloudflare lists alternates on port 53 (which browsers time out on; its own guidance
        // is to filter them out) and on 80/443: clients get the usable ones, best first.
        turn_part.urls = usable_turn_urls(std::move(turn_part.urls));
        if (turn_part.urls.empty())
            continue;
        turn_servers.push_back(std::move(turn_part));
    }
    if (turn_servers.empty())
        return malformed("no TURN server");

    out.urls = turn_servers.front().urls;
    out.username = *turn_servers.front().username;
    out.credential = *turn_servers.front().credential;
    out.ttl = static_cast<std::uint64_t>(ttl.count());
    // Counted from before the request, so our idea of the expiry is never later than Cloudflare's.
    out.expires_at = unix_seconds(started) + ttl.count();
    out.ice_servers = std::move(turn_servers);
    stun_urls.insert(stun_urls.end(), options.stun_urls.begin(), options.stun_urls.end());
    detail::append_stun_entry(out.ice_servers, stun_urls);
    return out;
}

void cloudflare_provider::impl::record(time_point t, std::string problem)
{
    if (problem.empty()) {
        hold_until = {};
    } else {
        hold_until = t + options.failure_hold;
        hold_reason = problem;
    }
    last = outcome{t, std::move(problem)};
}

void cloudflare_provider::impl::prune(time_point t)
{
    if (cache.size() <= options.max_cached_subjects)
        return;
    std::erase_if(cache, [t](auto const& item) {
        auto const& e = item.second;
        return !e.issuing && (!e.credentials || e.credentials->expires_at <= unix_seconds(t));
    });
    if (cache.size() <= options.max_cached_subjects)
        return;
    // Still full of live credentials: drop the ones that expire soonest.
    std::vector<std::pair<std::int64_t, std::string>> by_expiry;
    for (auto const& [subject, e] : cache)
        if (!e.issuing && e.credentials)
            by_expiry.emplace_back(e.credentials->expires_at, subject);
    std::sort(by_expiry.begin(), by_expiry.end());
    for (auto const& [expiry, subject] : by_expiry) {
        if (cache.size() <= options.max_cached_subjects)
            break;
        cache.erase(subject);
    }
}

credentials_result cloudflare_provider::impl::fall_back(std::string const& subject, time_point t,
                                                        std::string const& reason)
{
    // A credential Cloudflare issued is good until it expires, outage or not.
    auto found = cache.find(subject);
    if (found != cache.end() && found->second.credentials && usable(*found->second.credentials, t))
        return served(*found->second.credentials, t);
    return failure{make_error_code(errc::turn_unavailable), reason};
}

cloudflare_provider::cloudflare_provider(cloudflare_options options)
{
    if (!valid_key_id(options.key_id))
        throw std::invalid_argument("RELAY_CF_TURN_KEY_ID must be a non-empty string of letters, digits, '-' and '_'");
    if (options.api_token.empty())
        throw std::invalid_argument("the cloudflare TURN provider needs RELAY_CF_TURN_API_TOKEN");
    std::string why;
    auto endpoint = detail::parse_https_url(options.api_base, why);
    if (!endpoint)
        throw std::invalid_argument("RELAY_CF_API_BASE " + why);
    impl_ = std::make_unique<impl>(std::move(options), std::move(*endpoint));
}

cloudflare_provider::~cloudflare_provider() = default;

credentials_result cloudflare_provider::credentials(std::string_view subject_view, std::chrono::seconds ttl)
{
    auto& d = *impl_;
    ttl = std::clamp(ttl, std::chrono::seconds(1), cloudflare_max_ttl);
    std::string const subject(subject_view);

    std::unique_lock lock(d.mutex);
    for (;;) {
        auto t = now(d.options.clock);
        auto& e = d.cache[subject];
        if (e.credentials && fresh(*e.credentials, t)) {
            impl::count(d.cache_hits);
            return served(*e.credentials, t);
        }
        if (!e.issuing)
            break;
        // Someone is already asking for this subject: share that answer instead of a second call.
        d.issued.wait(lock);
    }
    auto t = now(d.options.clock);
    if (t < d.hold_until)
        return d.fall_back(subject, t, d.hold_reason);
    d.cache[subject].issuing = true;
    lock.unlock();

    credentials_result got = failure{};
    try {
        got = d.issue(ttl);
    } catch (std::exception const& ex) {
        got = failure{make_error_code(errc::turn_unavailable), std::string("cannot ask the Cloudflare TURN API: ") + ex.what()};
    }

    lock.lock();
    t = now(d.options.clock);
    auto& e = d.cache[subject];
    e.issuing = false;
    d.issued.notify_all();
    if (got) {
        d.record(t, {});
        e.credentials = *got;
        auto answer = served(*got, t);
        d.prune(t);
        return answer;
    }
    d.record(t, got.error().reason);
    return d.fall_back(subject, t, got.error().reason);
}

std::string cloudflare_provider::health()
{
    auto& d = *impl_;
    std::unique_lock lock(d.mutex);
    auto t = now(d.options.clock);
    if (d.last) {
        auto max_age = d.last->problem.empty() ? d.options.health_interval : d.options.failure_hold;
        if (t - d.last->at < max_age || d.probing)
            return d.last->problem;
    } else if (d.probing) {
        return {}; // the first probe is under way; nothing is known to be wrong yet
    }
    d.probing = true;
    lock.unlock();

    std::string problem;
    try {
        auto got = d.issue(probe_ttl);
        if (!got)
            problem = got.error().reason;
    } catch (std::exception const& ex) {
        problem = std::string("cannot ask the Cloudflare TURN API: ") + ex.what();
    }

    lock.lock();
    d.probing = false;
    d.record(now(d.options.clock), problem);
    return problem;
}

} // namespace relay::turn
