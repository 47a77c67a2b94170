#include "server/turn_credentials.hpp"

#include "server/blocking.hpp"
#include "server/services.hpp"

namespace relay::server {

net::awaitable<turn::credentials_result> issue_turn_credentials(runtime& rt, std::string const& subject)
{
    auto const ttl = rt.options.turn_ttl;
    auto issued = co_await run_blocking(rt.blocking, [&] { return rt.turn->credentials(subject, ttl); });
    if (!issued)
        rt.log.warn("turn_unavailable", {{"provider", rt.turn->name()},
                                         {"subject", subject},
                                         {"reason", issued.error().reason}});
    co_return issued;
}

} // namespace relay::server
