#pragma once
// Proving that nothing arrived, with a barrier instead of a short wait. The relay writes each
// connection's messages in the order it queued them, and routes what a connection sent before it
// answers that connection's next ping. So: a round trip on the sender, then a ping on the
// receiver; anything the relay routed to the receiver arrives before that pong. A read with a
// short time-out could pass because a forbidden message was merely late; this cannot.
#include "support/clients.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace relay::test {

/** Ping → pong on `peer` (messages before the pong are kept in skipped()): once it returns, the
 * relay has handled everything `peer` sent before, including routing it to other connections. */
void round_trip(ws_client& peer);

/** Sends a ping on `client` and reads up to the pong; the messages that came before it. Fails the
 * test when no pong comes. */
std::vector<boost::json::value> messages_before_pong(ws_client& client);

/** The barrier: fails the test if any message (only those of `type`, when given) arrives on
 * `client` before the pong to a ping sent now. */
void expect_nothing_before_pong(ws_client& client, std::string const& type = {});

} // namespace relay::test
