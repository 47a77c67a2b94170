#pragma once
// The three services the server's sessions and handlers share, owned together: built once in
// server::start() and held by the server and by every live session, so none outlives the
// others. Each handler and session takes only the services it uses (chat-multi's shared_state,
// split by what it is for):
//   runtime       options, logger, metrics, store, blocking pool, TURN, hooks, health, shutdown
//   live_service  broker, hub, WebRTC sessions, open connections
//   auth_service  tokens, ended logins, passwords, device secrets, throttles
#include "server/auth_service.hpp"
#include "server/cluster_routing.hpp"
#include "server/live_service.hpp"
#include "server/runtime.hpp"

#include <memory>

namespace relay::server {

struct services {
    /** Throws std::invalid_argument when a secret, key or setting in `opts` is unusable. */
    services(server_options const& opts, telemetry::logger& l, telemetry::registry& r, std::unique_ptr<store::store> s,
             std::shared_ptr<routing::broker> b, std::shared_ptr<routing::cluster> c, std::shared_ptr<turn::provider> t,
             relay::server::hooks h)
        : rt(opts, l, r, std::move(s), std::move(t), std::move(h)), live(opts, std::move(b), std::move(c)),
          auth(opts, live.hub, live.cluster.get())
    {
        if (live.cluster) {
            live.cross_node = std::make_shared<cluster_routing>(rt, live, *live.cluster);
            live.cross_node->attach();
        }
    }

    runtime rt;
    live_service live;
    auth_service auth;
};

/** One service, kept alive with the others (an aliasing pointer into the shared block). */
inline std::shared_ptr<runtime> runtime_of(std::shared_ptr<services> const& s) { return {s, &s->rt}; }
inline std::shared_ptr<live_service> live_of(std::shared_ptr<services> const& s) { return {s, &s->live}; }
inline std::shared_ptr<auth_service> auth_of(std::shared_ptr<services> const& s) { return {s, &s->auth}; }

} // namespace relay::server
