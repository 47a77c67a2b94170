#pragma once
/** @file Umbrella header: everything a program embedding librelay needs. */
#include <relay/version.hpp>

#include <relay/protocol/base64.hpp>
#include <relay/protocol/close_code.hpp>
#include <relay/protocol/codec.hpp>
#include <relay/protocol/errc.hpp>
#include <relay/protocol/forwarding.hpp>

#include <relay/auth/crypto.hpp>
#include <relay/auth/device_auth.hpp>
#include <relay/auth/email.hpp>
#include <relay/auth/encoding.hpp>
#include <relay/auth/jwt.hpp>
#include <relay/auth/password.hpp>
#include <relay/auth/secret_box.hpp>
#include <relay/auth/throttle.hpp>

#include <relay/store/store.hpp>

#include <relay/routing/broker.hpp>
#include <relay/routing/hub.hpp>
#include <relay/routing/in_process_broker.hpp>
#include <relay/routing/token_bucket.hpp>
#include <relay/routing/webrtc_registry.hpp>

#include <relay/turn/probe.hpp>
#include <relay/turn/provider.hpp>
#include <relay/turn/stun.hpp>
#include <relay/turn/turn_client.hpp>

#include <relay/telemetry/log.hpp>
#include <relay/telemetry/metrics.hpp>

#include <relay/server/options.hpp>
#include <relay/server/server.hpp>
