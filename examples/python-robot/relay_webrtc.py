"""What robot.py and viewer.py share about WebRTC with aiortc 1.4 / aioice 0.8 and the relay.

- The relay's credentials object -> RTCConfiguration (every ICE server; aiortc uses the first
  TURN URL, which the relay orders UDP first).
- Relay-only ICE: aiortc 1.4 has no iceTransportPolicy, aioice 0.8 has; `use_relay_only()`
  patches the one place aiortc builds aioice's Connection.
- A TURN 401 explained (docs/webrtc.md, "Diagnosing STUN transaction failed (401)"), both when
  the allocation fails while gathering and when aioice's allocation refresh fails later.
- One session's peer connection with the order of its signaling (PeerSession), and the tasks a
  program spawns (Tasks).
- Candidates in the contract's form ({"candidate","sdpMid","sdpMLineIndex"}, None = end), the
  selected pair's connection type and the round-trip time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from typing import Callable

import aioice.turn
import aiortc.rtcicetransport
from aioice import TransportPolicy
from aioice.stun import TransactionFailed
from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp, candidate_to_sdp

log = logging.getLogger("relay_webrtc")


class UsageError(Exception):
    """A command line or configuration the program cannot run with (exit status 2)."""


def main(program: str, argv: list[str], parse_args, run) -> int:
    """The entry point of robot.py and viewer.py: logging, arguments, asyncio.run(run(args))."""
    configure_logging(program)
    try:
        args = parse_args(argv)
        if args.verbose:
            log_libraries()
        return asyncio.run(run(args))
    except UsageError as error:
        print(f"{program}: {error}", file=sys.stderr)
        return 2


LIBRARIES = ("aiortc", "aioice", "websockets")


def configure_logging(program: str) -> None:
    """Stamped lines on stderr; the libraries' own lines only from warnings up."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {program}: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def log_libraries() -> None:
    """--verbose: aiortc's, aioice's and websockets' debug lines too."""
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG)


def use_relay_only() -> None:
    """Every RTCPeerConnection made afterwards in this process gathers and uses TURN relay
    candidates only (no host or server-reflexive ones), as a browser's
    iceTransportPolicy:"relay" does."""
    original = aiortc.rtcicetransport.connection_kwargs
    if getattr(original, "relay_only", False):
        return

    # aiortc's RTCIceGatherer calls this module-level function to build aioice.Connection's
    # keyword arguments; adding aioice's own transport_policy is the whole change.
    def relay_only_kwargs(servers):
        kwargs = original(servers)
        kwargs["transport_policy"] = TransportPolicy.RELAY
        return kwargs

    relay_only_kwargs.relay_only = True
    aiortc.rtcicetransport.connection_kwargs = relay_only_kwargs


def rtc_configuration(credentials: dict) -> RTCConfiguration:
    """The relay's credentials object (`turn_credentials` or `credentials`) as aiortc takes it."""
    servers = []
    for server in credentials.get("ice_servers") or []:
        urls = server.get("urls")
        if not urls:
            continue
        servers.append(RTCIceServer(urls=urls, username=server.get("username"), credential=server.get("credential")))
    return RTCConfiguration(iceServers=servers)


def turn_server_used(config: RTCConfiguration) -> tuple[str, int, str | None] | None:
    """(host, port, username) of the one TURN server aioice will allocate on, or None."""
    kwargs = aiortc.rtcicetransport.connection_kwargs(config.iceServers or [])
    if "turn_server" not in kwargs:
        return None
    host, port = kwargs["turn_server"]
    return host, port, kwargs.get("turn_username")


def turn_error_code(error: BaseException) -> int | None:
    """The STUN error code when `error` (or what caused it) is a failed TURN transaction."""
    while error is not None:
        if isinstance(error, TransactionFailed):
            code = error.response.attributes.get("ERROR-CODE")
            return code[0] if code else None
        error = error.__cause__ or error.__context__
    return None


def diagnose_turn_401(username: str | None, server_host: str, now: float | None = None) -> str:
    """Why a TURN server refused these credentials, from the username alone (docs/webrtc.md)."""
    now = time.time() if now is None else now
    match = re.fullmatch(r"(\d+):(.+)", username or "")
    if match and server_host.endswith("cloudflare.com"):
        return (
            f"self-signed credentials (username {username!r}, TURN REST form) sent to Cloudflare, "
            "which accepts only credentials its API issued: use RELAY_TURN_PROVIDER=cloudflare, "
            "never coturn with Cloudflare's URLs"
        )
    if match:
        expiry, subject = int(match.group(1)), match.group(2)
        if expiry <= now:
            return (
                f"expired credential or clock skew: coturn REST credential for {subject!r} expired "
                f"{int(now - expiry)} s ago (expiry {expiry}); it was kept past expires_at, or the "
                "TURN server's clock is ahead of the relay's (compare date -u, run NTP)"
            )
        return (
            f"wrong secret: coturn REST credential for {subject!r} is still valid for "
            f"{int(expiry - now)} s, so coturn's static-auth-secret differs from RELAY_TURN_SECRET's "
            "first entry (compare the secret_sha256_prefixes relayd logs at start with "
            "`printf %s \"$secret\" | sha256sum | cut -c1-8` on the TURN server), or coturn is not "
            "in use-auth-secret mode"
        )
    return (
        f"not a coturn REST credential (username {username!r}): a Cloudflare credential that was "
        "revoked or kept past expires_at (ask the relay for a new one), or self-signed "
        "credentials sent to Cloudflare"
    )


def watch_turn_refresh(on_failure: Callable[[str | None, tuple, BaseException], None]) -> None:
    """Calls on_failure(username, server, error) when aioice fails to refresh a TURN allocation.

    aioice 0.8 refreshes allocations in a task nobody awaits, so a refused refresh (an expired
    credential gets 401) would only show as "Task exception was never retrieved" and, a lifetime
    later, media that stops. This wraps that one coroutine; the allocation still lapses."""
    original = aioice.turn.TurnClientMixin.refresh
    if getattr(original, "watched", False):
        return

    async def refresh(self, time_to_expiry):
        try:
            await original(self, time_to_expiry)
        except TransactionFailed as error:
            on_failure(self.username, self.server, error)

    refresh.watched = True
    aioice.turn.TurnClientMixin.refresh = refresh


def candidate_message(candidate: RTCIceCandidate) -> dict:
    """A local candidate as the contract's webrtc_ice `candidate` object."""
    return {
        "candidate": "candidate:" + candidate_to_sdp(candidate),
        "sdpMid": candidate.sdpMid,
        "sdpMLineIndex": candidate.sdpMLineIndex,
    }


def local_candidates(pc: RTCPeerConnection) -> list[RTCIceCandidate]:
    """The candidates gathered for each media section (aiortc gathers them all before the
    description is set; they are in the SDP too, and sent again as webrtc_ice for peers that
    expect trickle)."""
    found = []
    for index, transceiver in enumerate(pc.getTransceivers()):
        if transceiver.sender.transport is None:
            continue
        for candidate in transceiver.sender.transport.transport.iceGatherer.getLocalCandidates():
            candidate.sdpMid = transceiver.mid
            candidate.sdpMLineIndex = index
            found.append(candidate)
        if transceiver._bundled:
            break
    return found


async def add_remote_candidate(pc: RTCPeerConnection, message: dict | None) -> None:
    """Adds a webrtc_ice `candidate` object from the other end; None (or an empty candidate)
    ends the candidates of every media section."""
    text = (message or {}).get("candidate") or ""
    if not text:
        for transceiver in pc.getTransceivers():
            if transceiver.receiver.transport is not None:
                await transceiver.receiver.transport.transport.addRemoteCandidate(None)
        return
    candidate = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    candidate.sdpMid = message.get("sdpMid")
    candidate.sdpMLineIndex = message.get("sdpMLineIndex")
    if candidate.sdpMid is None and candidate.sdpMLineIndex is not None:
        transceivers = pc.getTransceivers()
        if candidate.sdpMLineIndex < len(transceivers):
            candidate.sdpMid = transceivers[candidate.sdpMLineIndex].mid
    await pc.addIceCandidate(candidate)


def connection_type(pc: RTCPeerConnection) -> str | None:
    """host, srflx, prflx or relay: the type of the local candidate of the nominated pair, or
    relay when the remote candidate is (media then goes through TURN either way); None before
    ICE has nominated a pair."""
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if transport is None:
            continue
        # aioice keeps the nominated pair per component; aiortc does not expose it.
        pair = transport.transport._connection._nominated.get(1)
        if pair is None:
            return None
        if pair.remote_candidate.type == "relay":
            return "relay"
        return pair.local_candidate.type
    return None


async def round_trip_ms(pc: RTCPeerConnection) -> float | None:
    """The RTCP round-trip time aiortc measured for a sent stream, when it has one."""
    report = await pc.getStats()
    for stats in report.values():
        if stats.type == "remote-inbound-rtp" and stats.roundTripTime is not None:
            return round(stats.roundTripTime * 1000.0, 1)
    return None


class Tasks:
    """The tasks a program spawns, kept referenced until they finish (asyncio holds only weak
    references to tasks)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class PeerSession:
    """One WebRTC session: its peer connection, made from the relay's credentials object, and the
    order of what arrives for it. Handlers for one session may interleave, so the remote
    description is applied under `lock` and candidates wait for it (`described`)."""

    def __init__(self, session_id: str, credentials: dict) -> None:
        self.session_id = session_id
        self.credentials = credentials
        self.config = rtc_configuration(credentials)
        self.turn = turn_server_used(self.config)  # (host, port, username) or None
        self.pc = RTCPeerConnection(self.config)  # ValueError: relay-only ICE without a server
        self.lock = asyncio.Lock()
        self.described = False
        self.ended = False

    def diagnose(self, error: BaseException) -> tuple[str, str]:
        """(reason for webrtc_close, what to log) for a failure to gather candidates."""
        if turn_error_code(error) == 401 and self.turn:
            return "turn_unauthorized", (f"TURN 401 Unauthorized from {self.turn[0]} while allocating; "
                                         + diagnose_turn_401(self.turn[2], self.turn[0]))
        return "ice_gathering_failed", f"gathering ICE candidates failed: {error!r}"

    async def add_candidate(self, message: dict | None) -> None:
        """A webrtc_ice `candidate` from the other end, once the remote description is set."""
        async with self.lock:
            if not self.described or self.ended:
                return
            try:
                await add_remote_candidate(self.pc, message)
            except Exception as error:  # one bad candidate must not end the session
                log.warning("session %s: candidate ignored: %r", self.session_id, error)
