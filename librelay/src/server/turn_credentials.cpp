#include "server/turn_credentials.hpp"

#include "server/blocking.hpp"
#include "server/shared_state.hpp"

namespace relay::server {

net::awaitable<turn::credentials_result> issue_turn_credentials(shared_state& state, std::string const& subject)
{
    auto const ttl = state.options.turn_ttl;
    auto issued = co_await run_blocking(state.blocking, [&] { return state.turn->credentials(subject, ttl); });
    if (!issued)
        state.log.warn("turn_unavailable", {{"provider", state.turn->name()},
                                            {"subject", subject},
                                            {"reason", issued.error().reason}});
    co_return issued;
}

} // namespace relay::server
