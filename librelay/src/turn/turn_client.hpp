#pragma once
// Private to librelay: the asynchronous forms of turn_client.hpp and probe.hpp, Asio coroutines
// that run on whatever executor they are spawned on (the server's probe: a strand of a network
// context, where they never block; the public blocking functions: a private io_context).
// Arguments are taken by reference and must outlive the coroutine (GCC 12: no temporaries that
// need destruction inside a co_await expression).
#include <relay/turn/probe.hpp>
#include <relay/turn/turn_client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace relay::turn::detail {

/** A TLS client context for `turns:` (tls_client.hpp's trust rules); throws std::invalid_argument
 * when no CA store can be loaded. */
std::unique_ptr<boost::asio::ssl::context> make_turn_tls_context(std::string const& ca_file);

boost::asio::awaitable<allocation_outcome> async_allocate_and_release(std::string const& url,
                                                                      std::string const& username,
                                                                      std::string const& password,
                                                                      client_options const& options,
                                                                      boost::asio::ssl::context& tls);

boost::asio::awaitable<binding_outcome> async_stun_binding(std::string const& url, client_options const& options,
                                                           boost::asio::ssl::context& tls);

/** Allocates on every probe target of `credentials` in turn (or reports why there are none). */
boost::asio::awaitable<probe_report> async_probe(credentials_result const& credentials, client_options const& options,
                                                 boost::asio::ssl::context& tls);

} // namespace relay::turn::detail
