#include "cluster/redis_cluster.hpp"
#include "cluster/redis_cluster_scripts.hpp"

#include <relay/protocol/codec.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/protocol/forwarding.hpp>
#include <relay/routing/hub.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

namespace relay::cluster {

namespace net = boost::asio;

std::string frame_node_message(std::string_view kind, std::string_view from, std::string_view body)
{
    std::string out;
    out.reserve(kind.size() + from.size() + body.size() + 2);
    out.append(kind).append(1, ' ').append(from).append(1, '\n').append(body);
    return out;
}

std::optional<node_frame> parse_node_message(std::string_view payload) noexcept
{
    if (payload.empty() || payload.front() == '\0')
        return std::nullopt; // the client's liveness probe
    auto nl = payload.find('\n');
    if (nl == std::string_view::npos)
        return std::nullopt;
    auto head = payload.substr(0, nl);
    auto sp = head.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == head.size())
        return std::nullopt;
    return node_frame{head.substr(0, sp), head.substr(sp + 1), payload.substr(nl + 1)};
}

namespace {

using namespace cluster_scripts;

/** Devices per renewal script: bounds one script's time in Redis. */
constexpr std::size_t renew_batch = 500;

std::string make_incarnation()
{
    std::random_device rd;
    std::uint64_t v = (std::uint64_t(rd()) << 32) ^ rd() ^ std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

boost::system::error_code unreachable() { return make_error_code(errc::node_unreachable); }

class redis_cluster final : public routing::cluster, public std::enable_shared_from_this<redis_cluster> {
public:
    redis_cluster(std::shared_ptr<redis_client> client, redis_settings const& settings,
                  std::shared_ptr<telemetry::logger> log, std::shared_ptr<telemetry::registry> metrics)
        : client_(std::move(client)),
          node_id_(settings.node_id),
          incarnation_(make_incarnation()),
          heartbeat_(settings.heartbeat),
          node_timeout_(settings.node_timeout),
          log_(std::move(log)),
          metrics_(std::move(metrics)),
          sent_(metrics_->get_counter("relay_cluster_node_messages_total", "Node messages and broadcasts, by direction.",
                                      {{"direction", "sent"}})),
          received_(metrics_->get_counter("relay_cluster_node_messages_total",
                                          "Node messages and broadcasts, by direction.", {{"direction", "received"}})),
          owned_(metrics_->get_gauge("relay_cluster_robots_owned", "Robots whose owner record names this node.")),
          replaced_(metrics_->get_counter("relay_cluster_robots_replaced_total",
                                          "Robots closed here (4409) because they connected to another node.")),
          reaped_nodes_(metrics_->get_counter("relay_cluster_nodes_reaped_total",
                                              "Silent nodes this node declared dead.")),
          reaped_robots_(metrics_->get_counter("relay_cluster_robots_reaped_total",
                                               "Robots of dead nodes this node declared offline.")),
          heartbeat_seconds_(metrics_->get_histogram("relay_cluster_heartbeat_seconds",
                                                     "Round trip of the node's heartbeat to Redis.")),
          // The client's own series (redis_client.cpp), read for /stats.
          subscriptions_(metrics_->get_gauge("relay_redis_subscriptions",
                                             "Channels the subscriber connection is subscribed to"))
    {
    }

    ~redis_cluster() override { stop(); }

    std::string const& node_id() const noexcept override { return node_id_; }

    void start(routing::hub& local) override
    {
        hub_ = &local;
        std::weak_ptr<redis_cluster> weak = shared_from_this();
        client_->on_message(client_->own_channel(), [weak](std::string_view, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_own_message(payload);
        });
        client_->on_message(std::string(control_channel), [weak](std::string_view, std::string_view payload) {
            if (auto self = weak.lock())
                self->on_control_message(payload);
        });
        client_->on_state([weak](bool up) {
            if (auto self = weak.lock())
                self->on_state(up);
        });
        client_->subscribe(std::string(control_channel));
        work_.emplace(net::make_work_guard(io_));
        thread_ = std::thread([this] { io_.run(); });
        client_->start();
        net::post(io_, [weak] {
            if (auto self = weak.lock())
                self->tick();
        });
        log_->info("cluster_started", {{"node_id", node_id_}, {"incarnation", incarnation_},
                                       {"heartbeat_ms", heartbeat_.count()},
                                       {"node_timeout_ms", node_timeout_.count()}});
    }

    void stop() override
    {
        if (!thread_.joinable() || stopped_.exchange(true))
            return;
        // Leave cleanly: this node's robots go offline now (not at the reaper's bound) and the
        // others hear node_down. Bounded: Redis may be away.
        if (client_->up()) {
            auto left = std::make_shared<std::promise<void>>();
            auto done = left->get_future();
            std::weak_ptr<redis_cluster> weak = weak_from_this();
            client_->eval(retire_script(), {nodes_key, robots_key(node_id_)}, {node_id_, ""},
                          [weak, left, client = client_](boost::system::error_code ec, redis_reply reply) {
                              if (auto self = weak.lock(); self && !ec && !reply.is_error())
                                  self->announce_retired(reply, false);
                              // Answered after the presence events just published: they are out.
                              client->command({"PING"}, [left](boost::system::error_code, redis_reply) {
                                  left->set_value();
                              });
                          });
            done.wait_for(std::chrono::seconds(2));
        }
        client_->stop();
        work_.reset();
        io_.stop();
        thread_.join();
        log_->info("cluster_stopped", {{"node_id", node_id_}});
    }

    std::string health() const override { return client_->health(); }

    void on_node_message(std::string kind, node_message_handler handler) override
    {
        std::lock_guard lock(handlers_mutex_);
        message_handlers_[std::move(kind)] = std::move(handler);
    }

    void send_to_node(std::string const& node, std::string_view kind, std::string payload) override
    {
        sent_.inc();
        client_->command({"PUBLISH", node_channel(node), frame_node_message(kind, node_id_, payload)},
                         [](boost::system::error_code, redis_reply) {});
    }

    void send_to_robot_node(std::string const& device_id, std::string_view kind, std::string payload,
                            routed_handler done) override
    {
        // Never wait for a Redis that is away: the caller answers NODE_UNREACHABLE at once.
        if (!client_->up()) {
            done(unreachable(), {});
            return;
        }
        sent_.inc();
        client_->eval(route_script(), {owner_key(device_id)}, {frame_node_message(kind, node_id_, payload)},
                      [done = std::move(done)](boost::system::error_code ec, redis_reply reply) {
                          if (ec || reply.is_error())
                              done(unreachable(), {});
                          else if (reply.type != redis_reply::kind::string)
                              done(make_error_code(errc::device_offline), {});
                          else
                              done({}, reply.str);
                      });
    }

    void on_node_down(std::function<void(std::string const& node)> handler) override
    {
        std::lock_guard lock(handlers_mutex_);
        node_down_handlers_.push_back(std::move(handler));
    }

    void broadcast(std::string_view kind, std::string payload) override
    {
        sent_.inc();
        client_->command({"PUBLISH", std::string(control_channel), frame_node_message(kind, node_id_, payload)},
                         [](boost::system::error_code, redis_reply) {});
    }

    void on_broadcast(std::string kind, node_message_handler handler) override
    {
        std::lock_guard lock(handlers_mutex_);
        broadcast_handlers_[std::move(kind)] = std::move(handler);
    }

    void claim_robot(std::string const& device_id, std::shared_ptr<routing::robot_link> const& link,
                     std::function<void(bool)> done) override
    {
        std::string token;
        {
            std::lock_guard lock(robots_mutex_);
            auto& r = robots_[device_id];
            r = local_robot{};
            r.token = incarnation_ + "." + std::to_string(++next_token_);
            r.link = link;
            r.ptr = link.get();
            r.on_claimed = std::move(done);
            token = r.token;
        }
        send_claim(device_id, token);
    }

    void release_robot(std::string const& device_id, routing::robot_link const* link, bool announce,
                       std::function<void(bool)> done) override
    {
        std::string token;
        {
            std::lock_guard lock(robots_mutex_);
            auto it = robots_.find(device_id);
            if (it == robots_.end() || it->second.ptr != link) {
                // A newer connection of the robot on this node took over the record: nothing to release.
                if (done)
                    done(false);
                return;
            }
            token = std::move(it->second.token);
            bool const never_claimed = it->second.record.empty() && !it->second.claiming;
            if (!it->second.record.empty())
                owned_.sub();
            robots_.erase(it);
            if (never_claimed) {
                // Redis was away all along: no record to remove, nobody elsewhere told.
                if (done)
                    done(false);
                return;
            }
        }
        send_release(pending_release{device_id, std::move(token), announce, std::move(done)});
    }

    void online(std::vector<std::string> device_ids, online_handler done) override
    {
        if (device_ids.empty()) {
            done({}, {});
            return;
        }
        if (!client_->up()) {
            done(unreachable(), {});
            return;
        }
        std::vector<std::string> argv{"MGET"};
        argv.reserve(device_ids.size() + 1);
        for (auto const& d : device_ids)
            argv.push_back(owner_key(d));
        client_->command(std::move(argv), [n = device_ids.size(), done = std::move(done)](boost::system::error_code ec,
                                                                                          redis_reply reply) {
            if (ec || reply.type != redis_reply::kind::array || reply.elements.size() != n) {
                done(unreachable(), {});
                return;
            }
            std::vector<bool> out;
            out.reserve(n);
            for (auto const& e : reply.elements)
                out.push_back(e.type == redis_reply::kind::string);
            done({}, std::move(out));
        });
    }

    status current_status() const override
    {
        status s;
        s.up = client_->up();
        s.rtt_ms = rtt_ms_.load();
        s.reconnects = reconnects_.load();
        s.subscriptions = subscriptions_.value();
        std::lock_guard lock(robots_mutex_);
        for (auto const& [d, r] : robots_)
            if (!r.record.empty())
                ++s.robots;
        return s;
    }

private:
    struct local_robot {
        std::string token;                       // this connection's, unique across nodes and runs
        std::weak_ptr<routing::robot_link> link;
        routing::robot_link const* ptr = nullptr; // identity for release_robot
        std::string record;                       // the owner record as claimed; empty until then
        bool claiming = false;                    // a claim is on its way
        std::function<void(bool)> on_claimed;     // called once, with the first claim's answer
    };
    struct pending_release {
        std::string device_id;
        std::string token;
        bool announce = false;
        std::function<void(bool)> done;
    };

    void send_claim(std::string const& device_id, std::string const& token)
    {
        {
            std::lock_guard lock(robots_mutex_);
            auto it = robots_.find(device_id);
            if (it == robots_.end() || it->second.token != token || it->second.claiming)
                return;
            if (!client_->up())
                return; // claimed once Redis is back (on_state)
            it->second.claiming = true;
        }
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        client_->eval(claim_script(), {owner_key(device_id), generation_key(device_id), robots_key(node_id_)},
                      {node_id_, token, std::to_string(node_timeout_.count()), device_id},
                      [weak, device_id, token](boost::system::error_code ec, redis_reply reply) {
                          if (auto self = weak.lock())
                              self->on_claimed(device_id, token, ec, reply);
                      });
    }

    void on_claimed(std::string const& device_id, std::string const& token, boost::system::error_code ec,
                    redis_reply const& reply)
    {
        bool ok = !ec && reply.type == redis_reply::kind::array && reply.elements.size() == 2;
        std::function<void(bool)> done;
        std::string previous;
        {
            std::lock_guard lock(robots_mutex_);
            auto it = robots_.find(device_id);
            if (it == robots_.end() || it->second.token != token)
                return; // released meanwhile: the release, sent after, ran after the claim
            it->second.claiming = false;
            if (!ok) {
                if (!ec)
                    log_->warn("cluster_claim_failed", {{"device_id", device_id}, {"error", reply.str}});
                return; // tried again once Redis is back
            }
            if (it->second.record.empty())
                owned_.add();
            it->second.record = node_id_ + " " + std::to_string(reply.elements[0].integer) + " " + token;
            done = std::move(it->second.on_claimed);
            it->second.on_claimed = nullptr;
            previous = reply.elements[1].str;
        }
        bool came_online = previous.empty();
        auto space = previous.find(' ');
        auto previous_node = previous.substr(0, space);
        if (came_online) {
            publish_presence(device_id, true);
        } else if (previous_node != node_id_) {
            // The robot moved here: its old connection closes with 4409 and leaves quietly.
            auto token_at = previous.rfind(' ');
            send_to_node(previous_node, "replace", device_id + " " + previous.substr(token_at + 1));
        }
        if (done)
            done(came_online);
    }

    void send_release(pending_release r)
    {
        if (!client_->up()) {
            std::lock_guard lock(robots_mutex_);
            releases_.push_back(std::move(r)); // sent once Redis is back
            return;
        }
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        auto device_id = r.device_id;
        auto token = r.token;
        client_->eval(release_script(), {owner_key(device_id), robots_key(node_id_)}, {node_id_, token, device_id},
                      [weak, r = std::move(r)](boost::system::error_code ec, redis_reply reply) mutable {
                          auto self = weak.lock();
                          if (!self)
                              return;
                          if (ec) {
                              self->send_release(std::move(r));
                              return;
                          }
                          bool released = reply.type == redis_reply::kind::integer && reply.integer == 1;
                          bool went_offline = released && r.announce;
                          if (went_offline)
                              self->publish_presence(r.device_id, false);
                          if (r.done)
                              r.done(went_offline);
                      });
    }

    void publish_presence(std::string const& device_id, bool connected)
    {
        if (!hub_)
            return;
        hub_->events().publish_transient(
            device_id, std::make_shared<std::string const>(
                           protocol::encode(protocol::presence_event(device_id, connected, std::chrono::system_clock::now()))));
    }

    // --- node messages -------------------------------------------------------------------------
    void on_own_message(std::string_view payload)
    {
        auto m = parse_node_message(payload);
        if (!m)
            return;
        received_.inc();
        if (m->kind == "replace") {
            on_replace(m->body);
            return;
        }
        dispatch(message_handlers_, *m);
    }

    /** Calls the handler of the message's kind in `table`, outside the lock. */
    void dispatch(std::unordered_map<std::string, node_message_handler> const& table, node_frame const& m)
    {
        node_message_handler h;
        {
            std::lock_guard lock(handlers_mutex_);
            auto it = table.find(std::string(m.kind));
            if (it != table.end())
                h = it->second;
        }
        if (h)
            h(m.from, m.body);
        else
            log_->debug("node_message_unhandled", {{"kind", m.kind}, {"from", m.from}});
    }

    void on_control_message(std::string_view payload)
    {
        auto m = parse_node_message(payload);
        if (!m || m->from == node_id_)
            return; // this node applied its own change already
        received_.inc();
        if (m->kind == "node_down") {
            if (m->body != node_id_)
                node_down(std::string(m->body));
            return;
        }
        dispatch(broadcast_handlers_, *m);
    }

    void node_down(std::string const& node)
    {
        // Not again from the next look at relay:nodes (handlers settle idempotently anyway).
        known_nodes_.erase(node);
        log_->info("cluster_node_down", {{"node_id", node}});
        std::vector<std::function<void(std::string const&)>> handlers;
        {
            std::lock_guard lock(handlers_mutex_);
            handlers = node_down_handlers_;
        }
        for (auto const& h : handlers)
            h(node);
    }

    void on_replace(std::string_view body)
    {
        auto sp = body.find(' ');
        if (sp == std::string_view::npos)
            return;
        std::string device_id(body.substr(0, sp));
        auto token = body.substr(sp + 1);
        std::shared_ptr<routing::robot_link> link;
        {
            std::lock_guard lock(robots_mutex_);
            auto it = robots_.find(device_id);
            if (it == robots_.end() || it->second.token != token)
                return; // that connection has gone already, or a newer one is here now
            link = it->second.link.lock();
        }
        if (link) {
            replaced_.inc();
            link->close(protocol::close_code::replaced);
        }
    }

    // --- Redis up and down ---------------------------------------------------------------------
    void on_state(bool up)
    {
        if (!up) {
            up_since_.store(std::chrono::steady_clock::time_point::max().time_since_epoch().count());
            log_->warn("cluster_redis_down", {{"node_id", node_id_}});
            return;
        }
        up_since_.store(std::chrono::steady_clock::now().time_since_epoch().count());
        // A restarted Redis has forgotten the scripts: loaded ahead of the first EVALSHA, so none
        // answers NOSCRIPT and is sent again behind commands issued after it (a release would
        // then overtake its claim).
        for (auto const* script : {&claim_script(), &release_script(), &renew_script(), &heartbeat_script(),
                                   &reap_script(), &retire_script(), &route_script()})
            client_->command({"SCRIPT", "LOAD", script->source}, [](boost::system::error_code, redis_reply) {});
        if (retired_previous_.exchange(true))
            ++reconnects_;
        else
            retire_previous_run();
        heartbeat();
        // Everything claimed or released while Redis was away, in the order it happened.
        std::vector<pending_release> releases;
        {
            std::lock_guard lock(robots_mutex_);
            releases.swap(releases_);
        }
        for (auto& r : releases)
            send_release(std::move(r));
        claim_unclaimed();
    }

    /** Claims the local robots whose claim has not been answered (Redis was away, or it failed). */
    void claim_unclaimed()
    {
        std::vector<std::pair<std::string, std::string>> claims;
        {
            std::lock_guard lock(robots_mutex_);
            for (auto& [d, r] : robots_)
                if (r.record.empty() && !r.claiming)
                    claims.emplace_back(d, r.token);
        }
        for (auto const& [d, token] : claims)
            send_claim(d, token);
    }

    void retire_previous_run()
    {
        // Sent before any claim of this run: the pipeline keeps the order.
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        client_->eval(retire_script(), {nodes_key, robots_key(node_id_)}, {node_id_, incarnation_},
                      [weak](boost::system::error_code ec, redis_reply reply) {
                          auto self = weak.lock();
                          if (!self)
                              return;
                          if (ec || reply.is_error()) {
                              self->retired_previous_.store(false); // again on the next reconnect
                              return;
                          }
                          self->announce_retired(reply, true);
                      });
    }

    /** Publishes what a retire script answered: robots offline, and node_down for the run that ended. */
    void announce_retired(redis_reply const& reply, bool previous_run)
    {
        if (reply.type != redis_reply::kind::array || reply.elements.empty())
            return;
        bool had_heartbeat = reply.elements[0].integer == 1;
        for (std::size_t i = 1; i < reply.elements.size(); ++i)
            publish_presence(reply.elements[i].str, false);
        if (had_heartbeat) {
            log_->info(previous_run ? "cluster_previous_run_retired" : "cluster_left",
                       {{"node_id", node_id_}, {"robots", reply.elements.size() - 1}});
            client_->command({"PUBLISH", std::string(control_channel), frame_node_message("node_down", node_id_, node_id_)},
                             [](boost::system::error_code, redis_reply) {});
        }
    }

    // --- heartbeat and reaper (the cluster's own thread) ---------------------------------------
    void tick()
    {
        if (stopped_)
            return;
        if (client_->up()) {
            heartbeat();
            renew();
            claim_unclaimed();
            reap();
        }
        heartbeat_timer_.expires_after(heartbeat_);
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        heartbeat_timer_.async_wait([weak](boost::system::error_code ec) {
            if (ec)
                return;
            if (auto self = weak.lock())
                self->tick();
        });
    }

    void heartbeat()
    {
        auto sent = std::chrono::steady_clock::now();
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        client_->eval(heartbeat_script(), {nodes_key}, {node_id_}, [weak, sent](boost::system::error_code ec, redis_reply) {
            auto self = weak.lock();
            if (!self || ec)
                return;
            std::chrono::duration<double> rtt = std::chrono::steady_clock::now() - sent;
            self->rtt_ms_.store(rtt.count() * 1000);
            self->heartbeat_seconds_.observe(rtt.count());
        });
    }

    void renew()
    {
        std::vector<std::pair<std::string, std::string>> owned; // device, record
        {
            std::lock_guard lock(robots_mutex_);
            for (auto const& [d, r] : robots_)
                if (!r.record.empty())
                    owned.emplace_back(d, r.record);
        }
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        for (std::size_t at = 0; at < owned.size(); at += renew_batch) {
            auto batch = std::make_shared<std::vector<std::pair<std::string, std::string>>>(
                owned.begin() + at, owned.begin() + std::min(owned.size(), at + renew_batch));
            std::vector<std::string> keys, args{std::to_string(node_timeout_.count())};
            for (auto const& [d, record] : *batch) {
                keys.push_back(owner_key(d));
                args.push_back(record);
            }
            client_->eval(renew_script(), std::move(keys), std::move(args),
                          [weak, batch](boost::system::error_code ec, redis_reply reply) {
                              auto self = weak.lock();
                              if (!self || ec || reply.elements.size() != batch->size())
                                  return;
                              for (std::size_t i = 0; i < batch->size(); ++i)
                                  if (reply.elements[i].integer != 0)
                                      self->lost((*batch)[i].first, (*batch)[i].second, reply.elements[i].integer == 2);
                          });
        }
    }

    /** An owned record was gone (expired while Redis was away, or reaped) or names another owner now. */
    void lost(std::string const& device_id, std::string const& record, bool taken)
    {
        std::shared_ptr<routing::robot_link> link;
        std::string token;
        {
            std::lock_guard lock(robots_mutex_);
            auto it = robots_.find(device_id);
            if (it == robots_.end() || it->second.record != record)
                return;
            if (taken) {
                link = it->second.link.lock();
            } else {
                it->second.record.clear();
                owned_.sub();
                token = it->second.token;
            }
        }
        if (link) {
            // The replace message was lost (Redis away when it was sent): close now.
            replaced_.inc();
            link->close(protocol::close_code::replaced);
        } else if (!token.empty()) {
            // Still connected here: claimed again (and announced if it had been declared offline).
            send_claim(device_id, token);
        }
    }

    void reap()
    {
        // After a reconnect, every node's heartbeat looks old until each has sent one again:
        // only a node up for a whole node_timeout judges the others.
        auto since = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(up_since_.load()));
        if (since > std::chrono::steady_clock::now() - node_timeout_)
            return;
        std::weak_ptr<redis_cluster> weak = weak_from_this();
        client_->eval(reap_script(), {nodes_key}, {std::to_string(node_timeout_.count()), node_id_},
                      [weak](boost::system::error_code ec, redis_reply reply) {
                          auto self = weak.lock();
                          if (!self || ec || reply.type != redis_reply::kind::array)
                              return;
                          self->announce_reaped(reply.elements);
                      });
        // A node that left relay:nodes (reaped by another node, or stopped) is down here too,
        // even when its node_down broadcast was lost while this node's subscription reconnected:
        // whatever waits for it must not wait for a deadline.
        auto up = up_since_.load();
        client_->command({"ZRANGE", nodes_key, "0", "-1"}, [weak, up](boost::system::error_code ec, redis_reply reply) {
            auto self = weak.lock();
            if (!self || ec || reply.type != redis_reply::kind::array)
                return;
            std::set<std::string> present;
            for (auto const& e : reply.elements)
                if (e.str != self->node_id_)
                    present.insert(e.str);
            std::vector<std::string> left;
            if (self->known_nodes_since_ == up)
                std::set_difference(self->known_nodes_.begin(), self->known_nodes_.end(), present.begin(), present.end(),
                                    std::back_inserter(left));
            self->known_nodes_ = std::move(present);
            self->known_nodes_since_ = up;
            for (auto const& node : left)
                self->node_down(node);
        });
    }

    void announce_reaped(std::vector<redis_reply> const& out)
    {
        for (std::size_t i = 0; i + 1 < out.size();) {
            auto node = out[i].str;
            auto count = static_cast<std::size_t>(out[i + 1].integer);
            i += 2;
            for (std::size_t k = 0; k < count && i < out.size(); ++k, ++i)
                publish_presence(out[i].str, false);
            reaped_nodes_.inc();
            reaped_robots_.inc(count);
            log_->warn("cluster_node_dead", {{"node_id", node}, {"robots", count}});
            node_down(node);
            client_->command({"PUBLISH", std::string(control_channel), frame_node_message("node_down", node_id_, node)},
                             [](boost::system::error_code, redis_reply) {});
        }
    }

    std::shared_ptr<redis_client> client_;
    std::string const node_id_;
    std::string const incarnation_; // tells this run's records from a previous run's
    std::chrono::milliseconds const heartbeat_;
    std::chrono::milliseconds const node_timeout_;
    std::shared_ptr<telemetry::logger> log_;
    std::shared_ptr<telemetry::registry> metrics_;
    telemetry::counter& sent_;
    telemetry::counter& received_;
    telemetry::gauge& owned_;
    telemetry::counter& replaced_;
    telemetry::counter& reaped_nodes_;
    telemetry::counter& reaped_robots_;
    telemetry::histogram& heartbeat_seconds_;
    telemetry::gauge& subscriptions_;

    routing::hub* hub_ = nullptr; // set by start()

    std::mutex handlers_mutex_; // guards the three handler tables
    std::unordered_map<std::string, node_message_handler> message_handlers_;
    std::unordered_map<std::string, node_message_handler> broadcast_handlers_;
    std::vector<std::function<void(std::string const&)>> node_down_handlers_;

    mutable std::mutex robots_mutex_; // guards robots_, releases_, next_token_
    std::unordered_map<std::string, local_robot> robots_;
    std::vector<pending_release> releases_;

    // The client's thread only: the other nodes in relay:nodes at the last look (reap()), during
    // the up period that began at known_nodes_since_.
    std::set<std::string> known_nodes_;
    std::chrono::steady_clock::rep known_nodes_since_ = 0;
    std::uint64_t next_token_ = 0;

    std::atomic<std::chrono::steady_clock::rep> up_since_{std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
    std::atomic<bool> retired_previous_{false};
    std::atomic<bool> stopped_{false};
    std::atomic<double> rtt_ms_{0};
    std::atomic<std::uint64_t> reconnects_{0};

    // The heartbeat's thread: timers only; Redis answers arrive on the client's thread.
    net::io_context io_{1};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
    net::steady_timer heartbeat_timer_{io_};
    std::thread thread_;
};

} // namespace

std::shared_ptr<routing::cluster> make_redis_cluster(std::shared_ptr<redis_client> client, redis_settings const& settings,
                                                     std::shared_ptr<telemetry::logger> log,
                                                     std::shared_ptr<telemetry::registry> metrics)
{
    return std::make_shared<redis_cluster>(std::move(client), settings, std::move(log), std::move(metrics));
}

} // namespace relay::cluster
