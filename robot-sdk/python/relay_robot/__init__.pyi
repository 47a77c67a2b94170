"""relay_robot: a robot's connection to the relay, for asyncio programs.

The C++ robot-sdk (relay::robot::client) does the work on its own I/O thread: connecting,
authenticating, reconnecting with backoff, the outbox and acknowledged events. Every handler
runs on the asyncio loop the client was started on, never on that thread. Messages are dicts
with the contract's field names (docs/protocol.md, contract section 6).

Handlers are plain functions or coroutine functions, set by call or as decorators:

    @client.on_command
    async def command(cmd: dict) -> dict | None: ...
"""
import asyncio
from types import TracebackType
from typing import Any, Awaitable, Callable, Mapping, TypeVar, Union

__all__ = ["Client", "RelayError", "CommandError", "Json"]

Json = Union[None, bool, int, float, str, list["Json"], dict[str, "Json"]]
"""What converts to and from JSON: None, bool, int, float, str, list and dict with str keys."""

_F = TypeVar("_F", bound=Callable[..., Any])

class RelayError(Exception):
    """An error the relay or the SDK reports with a contract code.

    code: the contract's error code, e.g. "TURN_UNAVAILABLE", "BAD_MESSAGE", "MESSAGE_TOO_LARGE",
          "DEVICE_OFFLINE" (the client is not connected).
    message: a sentence for logs.
    ref: the id of the message the error answers, when there is one.
    """
    code: str
    message: str
    ref: str | None
    def __init__(self, code: str, message: str, ref: str | None = None) -> None: ...

class CommandError(Exception):
    """Raised by an on_command handler to answer the command with ok false and
    error {"code": code, "message": message} (plus "data" when given)."""
    code: str
    message: str
    data: Json
    def __init__(self, code: str, message: str, data: Json = None) -> None: ...

class Client:
    """A robot's connection to the relay (relay::robot::client underneath).

    Exactly one of `secret` (the device secret) and `key_file` (a PEM Ed25519 private key, relay
    v1.1 device keys) is required. Bad configuration (URL, device id, missing or both
    credentials, unreadable ca_file, a negative or zero capacity or delay) raises ValueError.
    `loop` defaults to the running loop at start().

    Usable as `async with Client(...) as c:` (start() on entry, stop() on exit).
    A client garbage-collected without stop() stops cleanly (no handler runs after that).
    """
    def __init__(
        self,
        url: str,
        device_id: str,
        *,
        secret: str | None = None,
        key_file: str | None = None,
        capabilities: dict[str, Json] | None = None,
        firmware: str | None = None,
        ca_file: str | None = None,
        outbox_capacity: int = 1000,
        acknowledged_events: bool = False,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None: ...

    async def start(self) -> None:
        """Starts connecting (and reconnecting forever). Once; RuntimeError on a second call or after stop()."""
    async def stop(self) -> None:
        """Closes the connection and stops reconnecting; returns when the I/O thread has ended.
        Idempotent. Pending request_turn_credentials calls fail with RelayError("DEVICE_OFFLINE")."""
    async def __aenter__(self) -> "Client": ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def wait_connected(self, timeout: float | None = None) -> dict[str, Any]:
        """Waits until the client is authenticated (returns at once when it is) and returns the
        connection_info: {"device_id", "protocol", "outbox_size", "connections"}.
        asyncio.TimeoutError (TimeoutError) after `timeout` seconds."""
    @property
    def connected(self) -> bool:
        """True while authenticated."""
    def stats(self) -> dict[str, Any]:
        """The C++ client_stats as a dict: connected, connections, events_queued, events_sent,
        events_dropped, outbox_size, events_unacknowledged, events_acknowledged, events_resent,
        auth_failures, replaced, keepalive_timeouts, replies_dropped."""

    # --- sending ---------------------------------------------------------------------------
    def send_event(self, name: str, data: Json = None) -> None:
        """Queues an event: sent at once when connected, else kept in the outbox (oldest dropped
        when full) and sent in order after the next connect. RelayError("BAD_MESSAGE") for a
        name the relay refuses or data that is not JSON, RelayError("MESSAGE_TOO_LARGE") for an
        event over 64 KiB; nothing is queued then."""
    async def flush(self, timeout: float = 10.0) -> bool:
        """True once every event queued before the call is written and processed by the relay
        (acknowledged, with acknowledged_events); False after `timeout` seconds."""
    def hello(self, capabilities: dict[str, Json], firmware: str | None = None) -> None:
        """Replaces the capabilities (and firmware) announced in hello; sent now when connected."""
    async def request_turn_credentials(self, timeout: float = 15.0) -> dict[str, Any]:
        """ICE credentials for this device: {"urls", "username", "credential", "ttl",
        "expires_at", "ice_servers"} (the object of GET /api/turn/credentials).
        RelayError("TURN_UNAVAILABLE") when the relay's TURN provider is down,
        RelayError("DEVICE_OFFLINE") when not connected, TimeoutError after `timeout` seconds."""
    def send_webrtc_offer(self, session_id: str, sdp: str) -> bool:
        """Sends the robot's SDP offer. False when not connected."""
    def send_webrtc_ice(self, session_id: str, candidate: dict[str, Any] | None) -> bool:
        """Sends a local ICE candidate {"candidate", "sdpMid", "sdpMLineIndex"
        [, "usernameFragment"]}; None says there are no more. False when not connected;
        ValueError for a malformed candidate."""
    def send_webrtc_close(self, session_id: str, reason: str | None = None) -> bool:
        """Ends a session from the robot's side. False when not connected."""
    def send_webrtc_stats(self, session_id: str, state: str, connection_type: str | None = None,
                          rtt_ms: float | None = None) -> bool:
        """Reports a session's state ("connected" or "failed"; connection_type "host", "srflx",
        "prflx" or "relay", required when connected). False when not connected; ValueError for
        values the relay would refuse."""

    # --- handlers (each returns fn, so it works as a decorator; None removes the handler) ---
    def on_connected(self, fn: _F) -> _F:
        """fn(info: dict): {"device_id", "protocol", "outbox_size", "connections"}."""
    def on_disconnected(self, fn: _F) -> _F:
        """fn(info: dict): {"reason" ("connect_failed", "handshake_timeout", "auth_failed",
        "replaced", "relay_closed", "connection_lost", "keepalive_timeout", "protocol_error"),
        "was_connected", "close_code", "message", "will_retry", "retry_in" (seconds),
        "failures"}."""
    def on_error(self, fn: _F) -> _F:
        """fn(error: dict): {"code", "message", "ref"?} — an error the relay sent. Errors that
        answer a request_turn_credentials call go to that call instead."""
    def on_command(self, fn: _F) -> _F:
        """fn(cmd: dict) -> Json: cmd is {"type": "command", "id", "from_user", "command",
        "data"?}. The return value is the result's data (ok true; None for no data).
        Raise CommandError(code, message, data) to answer ok false; any other exception answers
        ok false with code "INTERNAL". Without a handler the C++ default answers
        UNKNOWN_COMMAND."""
    def on_webrtc_request(self, fn: _F) -> _F:
        """fn(req: dict): {"session_id", "from_user", "media", "quality", "turn_credentials",
        "replaces"?}; answer with send_webrtc_offer and send_webrtc_ice."""
    def on_webrtc_answer(self, fn: _F) -> _F:
        """fn(answer: dict): {"session_id", "sdp": {"type": "answer", "sdp"}}."""
    def on_webrtc_ice(self, fn: _F) -> _F:
        """fn(ice: dict): {"session_id", "candidate": {...} | None}."""
    def on_webrtc_close(self, fn: _F) -> _F:
        """fn(close: dict): {"session_id", "reason", "by"}."""
    def on_event_ack(self, fn: _F) -> _F:
        """fn(ack: dict): {"ref": event id, "seq": its number in the device's history}
        (acknowledged_events only; once per event)."""
    def on_http_request(self, fn: _F) -> _F:
        """fn(req: dict) -> (status, headers, body): req is the REST-tunnel request
        {"id", "method", "path", "query", "headers", "body"? | "body_b64"?, ...}. body may be
        bytes (sent as body_b64 with the headers' Content-Type, else
        application/octet-stream), str (UTF-8, text/plain unless a Content-Type is given),
        None (no body) or any other JSON value (sent as JSON). An exception answers 500.
        Replaces forward_rest."""
    def forward_rest(self, local_api: str) -> None:
        """Forwards every REST-tunnel request to the robot's local API, e.g.
        "http://127.0.0.1:8080/api", in C++ (relay/robot/local_api.hpp, as robot-agent
        --local-api does) on a worker thread; no Python runs per request. ValueError for
        anything but http://host[:port][/base]. Replaces on_http_request."""
