#!/usr/bin/python3
"""A viewer for tests and people: watches a robot's video as an app does, and measures it.

    RELAY_PASSWORD=... /usr/bin/python3 examples/python-robot/viewer.py \\
        --relay https://relay.example.com --email me@example.com --device-id wimz-001 --json

Logs in (or takes RELAY_ACCESS_TOKEN), opens /ws/app, asks for a session with webrtc_request,
answers the robot's offer with aiortc and exchanges candidates. It prints the frames it receives,
frames per second, glass-to-glass latency read from robot.py's test pattern, the connection type
of the selected pair and the time to the first frame; with --json one JSON object per line.

Sessions longer than a credential (protocol decision 28): when two thirds of the `ttl` of the
credentials it received have passed, it asks for a new session with `replaces`, switches to it
when its first frame arrives and closes the old one with reason "replaced". The summary reports
the largest gap between consecutive frames over the whole run.

Exit status: 0 the run reached --duration or --frames, 1 the session failed or ended early,
2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy
import websockets
from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

import relay_webrtc
from pattern import read_stamp

log = logging.getLogger("viewer.py")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="viewer.py", description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--relay", required=True, help="the relay's base URL: https://… or http://127.0.0.1:8000")
    parser.add_argument("--device-id", required=True, help="the robot to watch")
    parser.add_argument("--email", help="log in as this user (password from RELAY_PASSWORD)")
    parser.add_argument("--ca-file", help="extra trusted CA certificates (PEM) for https/wss")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to watch (default 30)")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (default: run --duration)")
    parser.add_argument("--relay-only", action="store_true", help="use TURN relay candidates only")
    parser.add_argument("--no-renew", action="store_true", help="never replace the session before its credentials expire")
    parser.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    parser.add_argument("--verbose", action="store_true", help="log aiortc's and aioice's debug lines too")
    args = parser.parse_args(argv)
    args.token = os.environ.get("RELAY_ACCESS_TOKEN")
    args.password = os.environ.get("RELAY_PASSWORD")
    if not args.token and not (args.email and args.password):
        raise relay_webrtc.UsageError("set RELAY_ACCESS_TOKEN, or --email with RELAY_PASSWORD")
    if args.duration <= 0 or args.frames < 0:
        raise relay_webrtc.UsageError("--duration must be positive and --frames not negative")
    return args


def ssl_context(args) -> ssl.SSLContext | None:
    if not args.relay.startswith("https"):
        return None
    return ssl.create_default_context(cafile=args.ca_file)


def login(args) -> str:
    """An access token from POST /api/auth/login."""
    body = json.dumps({"email": args.email, "password": args.password}).encode()
    request = urllib.request.Request(urllib.parse.urljoin(args.relay, "/api/auth/login"), data=body,
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15, context=ssl_context(args)) as answer:
            return json.load(answer)["access_token"]
    except urllib.error.HTTPError as error:
        raise relay_webrtc.UsageError(f"login failed: HTTP {error.code} {error.read().decode(errors='replace')}") from None


class Session(relay_webrtc.PeerSession):
    """One WebRTC session with the robot."""

    def __init__(self, session_id: str, credentials: dict, replaces: str | None) -> None:
        super().__init__(session_id, credentials)
        self.replaces = replaces
        self.received_at = time.monotonic()
        self.pc.addTransceiver("video", direction="recvonly")
        self.first_frame_at: float | None = None
        self.connection_type: str | None = None

    def renew_at(self) -> float | None:
        ttl = self.credentials.get("ttl")
        return self.received_at + ttl * 2.0 / 3.0 if ttl else None


class Viewer:
    def __init__(self, args: argparse.Namespace, ws) -> None:
        self.args = args
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending: dict[str, str | None] = {}  # request id -> session it replaces
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None
        self.tasks = relay_webrtc.Tasks()
        self.spawn = self.tasks.spawn
        self.done = asyncio.get_running_loop().create_future()
        self.started = time.monotonic()
        self.frames = 0
        self.decoded = 0
        self.latencies: list[float] = []
        self.window: list[float] = []  # latencies since the last stats line
        self.last_frame_at: float | None = None
        self.first_frame_at: float | None = None
        self.max_gap = 0.0
        self.renewals = 0
        self.renewing = False

    # --- output ---------------------------------------------------------------------------

    def emit(self, event: str, **fields) -> None:
        fields = {"event": event, "t": round(time.monotonic() - self.started, 3), **fields}
        if self.args.json:
            print(json.dumps(fields), flush=True)
        else:
            print(" ".join(f"{k}={v}" for k, v in fields.items()), flush=True)

    def finish(self, status: int) -> None:
        if not self.done.done():
            self.done.set_result(status)

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    # --- sessions -------------------------------------------------------------------------

    async def request(self, replaces: str | None = None) -> None:
        request_id = f"v{next(self.ids)}"
        self.pending[request_id] = replaces
        message = {"type": "webrtc_request", "device_id": self.args.device_id, "id": request_id, "media": "video"}
        if replaces:
            message["replaces"] = replaces
        await self.send(message)

    def on_credentials(self, msg: dict) -> None:
        replaces = self.pending.pop(msg.get("ref"), None)
        session = Session(msg["session_id"], msg["credentials"], replaces)
        self.sessions[session.session_id] = session
        if self.current is None:
            self.current = session
        session.pc.on("track", lambda track: self.spawn(self.consume(session, track)))
        session.pc.on("connectionstatechange", lambda: self.on_connection_state(session))
        self.emit("session", session_id=session.session_id, replaces=replaces,
                  ttl=session.credentials.get("ttl"), expires_at=session.credentials.get("expires_at"),
                  turn_username=session.credentials.get("username"))

    async def on_offer(self, session: Session, sdp) -> None:
        async with session.lock:
            try:
                await session.pc.setRemoteDescription(RTCSessionDescription(
                    sdp=sdp["sdp"] if isinstance(sdp, dict) else sdp, type="offer"))
                session.described = True
                await session.pc.setLocalDescription(await session.pc.createAnswer())
            except Exception as error:
                reason, detail = session.diagnose(error)
                self.emit("error", session_id=session.session_id, reason=reason, detail=detail)
                await self.end(session, reason)
                return
            if session.ended:
                return
            await self.send({"type": "webrtc_answer", "session_id": session.session_id,
                             "sdp": {"type": "answer", "sdp": session.pc.localDescription.sdp}})
            for candidate in relay_webrtc.local_candidates(session.pc):
                await self.send({"type": "webrtc_ice", "session_id": session.session_id,
                                 "candidate": relay_webrtc.candidate_message(candidate)})
            await self.send({"type": "webrtc_ice", "session_id": session.session_id, "candidate": None})

    def on_connection_state(self, session: Session) -> None:
        state = session.pc.connectionState
        if session.ended:
            return
        if state == "connected":
            session.connection_type = relay_webrtc.connection_type(session.pc)
            self.emit("connected", session_id=session.session_id, connection_type=session.connection_type)
            self.spawn(self.send({"type": "webrtc_stats", "session_id": session.session_id, "state": "connected",
                                  "connection_type": session.connection_type}))
        elif state == "failed":
            self.spawn(self.send({"type": "webrtc_stats", "session_id": session.session_id, "state": "failed"}))
            self.spawn(self.end(session, "ice_failed"))

    async def end(self, session: Session, reason: str | None, by: str | None = None) -> None:
        """Ends a session; tells the relay unless the other side or the relay ended it (`by`)."""
        if session.ended:
            return
        session.ended = True
        self.sessions.pop(session.session_id, None)
        if by is None:
            await self.send({"type": "webrtc_close", "session_id": session.session_id, "reason": reason})
        await session.pc.close()
        if session is self.current:
            self.emit("closed", session_id=session.session_id, reason=reason, by=by or "app")
            self.finish(1)
        elif session.first_frame_at is None and session.replaces:
            # A replacement that failed leaves the old session untouched; try again later.
            self.emit("renewal_failed", session_id=session.session_id, reason=reason, by=by or "app")
            self.renewing = False

    async def consume(self, session: Session, track) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.time()
            at = time.monotonic()
            if session.first_frame_at is None:
                session.first_frame_at = at
                if session is self.current:
                    self.emit("first_frame", session_id=session.session_id,
                              time_to_first_frame_ms=round((at - self.started) * 1000.0, 1),
                              connection_type=session.connection_type)
                elif session.replaces and self.current and session.replaces == self.current.session_id:
                    await self.switch(session)
            if session is not self.current or session.ended:
                continue
            self.frames += 1
            if self.first_frame_at is None:
                self.first_frame_at = at
            if self.last_frame_at is not None:
                self.max_gap = max(self.max_gap, at - self.last_frame_at)
            self.last_frame_at = at
            stamp = read_stamp(luma(frame))
            if stamp is not None:
                self.decoded += 1
                latency = now * 1000.0 - stamp.timestamp_ms
                self.latencies.append(latency)
                self.window.append(latency)
            if self.args.frames and self.decoded >= self.args.frames:
                self.finish(0)

    async def switch(self, session: Session) -> None:
        """The replacement carries video: show it, close the old session (decision 28)."""
        old = self.current
        self.current = session
        self.renewals += 1
        self.renewing = False
        expires_at = old.credentials.get("expires_at")
        self.emit("renewed", session_id=session.session_id, replaced=old.session_id,
                  connection_type=session.connection_type,
                  replaced_credential_left_s=round(expires_at - time.time(), 1) if expires_at else None,
                  build_ms=round((session.first_frame_at - session.received_at) * 1000.0, 1))
        await self.end(old, "replaced")

    async def renew_loop(self) -> None:
        """Builds the next session when two thirds of the current one's ttl have passed."""
        while True:
            await asyncio.sleep(0.5)
            session = self.current
            if self.renewing or session is None or session.first_frame_at is None:
                continue
            renew_at = session.renew_at()
            if renew_at is None or time.monotonic() < renew_at:
                continue
            self.renewing = True
            await self.request(replaces=session.session_id)
            # A replacement that never answers is given up after a while (the old one still runs).
            self.spawn(self.give_up_renewal(session.session_id))

    async def give_up_renewal(self, old_session_id: str) -> None:
        await asyncio.sleep(20.0)
        if self.renewing and self.current and self.current.session_id == old_session_id:
            self.renewing = False
            for session in list(self.sessions.values()):
                if session.replaces == old_session_id and session.first_frame_at is None:
                    await self.end(session, "renewal_timeout")

    async def stats_loop(self) -> None:
        previous = 0
        while True:
            await asyncio.sleep(1.0)
            window, self.window = self.window, []
            self.emit("stats", frames=self.frames, fps=self.frames - previous, decoded=self.decoded,
                      latency_ms=round(sum(window) / len(window), 1) if window else None,
                      session_id=self.current.session_id if self.current else None)
            previous = self.frames

    # --- the socket -----------------------------------------------------------------------

    def on_message(self, msg: dict) -> None:
        kind = msg.get("type")
        session = self.sessions.get(msg.get("session_id", ""))
        if kind == "webrtc_credentials":
            self.on_credentials(msg)
        elif kind == "webrtc_offer" and session:
            self.spawn(self.on_offer(session, msg["sdp"]))
        elif kind == "webrtc_ice" and session:
            self.spawn(session.add_candidate(msg.get("candidate")))
        elif kind == "webrtc_close" and session:
            self.emit("remote_close", session_id=session.session_id, reason=msg.get("reason"), by=msg.get("by"))
            self.spawn(self.end(session, msg.get("reason"), by=msg.get("by") or "relay"))
        elif kind == "error":
            self.emit("relay_error", code=msg.get("code"), message=msg.get("message"), ref=msg.get("ref"))
            if msg.get("ref") in self.pending:
                replaces = self.pending.pop(msg["ref"])
                if replaces:
                    self.renewing = False  # the old session keeps running; the loop tries again
                else:
                    self.finish(1)

    async def read_loop(self) -> None:
        async for raw in self.ws:
            try:
                self.on_message(json.loads(raw))
            except (ValueError, KeyError) as error:
                log.warning("unreadable message %r: %r", raw[:200], error)
        self.emit("socket_closed", code=self.ws.close_code, reason=self.ws.close_reason)
        self.finish(1)

    def summary(self) -> dict:
        span = (self.last_frame_at - self.first_frame_at) if self.frames > 1 else 0.0
        # Video that stopped before the end is a gap too, up to now.
        gap = max(self.max_gap, time.monotonic() - self.last_frame_at) if self.last_frame_at else None
        ordered = sorted(self.latencies)

        def percentile(p):
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else None

        return {
            "frames": self.frames,
            "decoded": self.decoded,
            "fps": round((self.frames - 1) / span, 2) if span > 0 else None,
            "time_to_first_frame_ms": round((self.first_frame_at - self.started) * 1000.0, 1) if self.first_frame_at else None,
            "latency_ms": {"p50": percentile(0.5), "p95": percentile(0.95), "max": percentile(1.0)},
            "max_gap_ms": round(gap * 1000.0, 1) if gap is not None else None,
            "renewals": self.renewals,
            "connection_type": self.current.connection_type if self.current else None,
            "session_id": self.current.session_id if self.current else None,
            "duration_s": round(time.monotonic() - self.started, 2),
        }

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            session.ended = True
            try:
                await self.send({"type": "webrtc_close", "session_id": session.session_id, "reason": "viewer_done"})
            except websockets.ConnectionClosed:
                pass
            await session.pc.close()
        self.tasks.cancel()


def luma(frame) -> numpy.ndarray:
    """The decoded picture's Y plane without a copy when it is YUV 4:2:0 (what VP8 gives)."""
    if frame.format.name == "yuv420p":
        plane = frame.planes[0]
        rows = numpy.frombuffer(plane, dtype=numpy.uint8).reshape(frame.height, plane.line_size)
        return rows[:, : frame.width]
    return frame.to_ndarray(format="gray")


async def run(args: argparse.Namespace) -> int:
    if args.relay_only:
        relay_webrtc.use_relay_only()
    token = args.token or await asyncio.get_running_loop().run_in_executor(None, login, args)
    parts = urllib.parse.urlsplit(args.relay)
    ws_url = urllib.parse.urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, "/ws/app", "", ""))
    async with websockets.connect(ws_url, extra_headers={"Authorization": f"Bearer {token}"},
                                  ssl=ssl_context(args), max_size=1 << 20) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 15))
        if hello.get("type") != "auth_ok":
            raise relay_webrtc.UsageError(f"the relay refused the token: {hello}")
        viewer = Viewer(args, ws)
        for loop in (viewer.read_loop(), viewer.stats_loop()):
            viewer.spawn(loop)
        if not args.no_renew:
            viewer.spawn(viewer.renew_loop())
        await viewer.request()
        try:
            status = await asyncio.wait_for(asyncio.shield(viewer.done), args.duration)
        except asyncio.TimeoutError:
            status = 0 if not args.frames and viewer.frames > 0 else 1
        viewer.emit("summary", status=status, **viewer.summary())
        await viewer.close()
        return status


if __name__ == "__main__":
    sys.exit(relay_webrtc.main("viewer.py", sys.argv[1:], parse_args, run))
