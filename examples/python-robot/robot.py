#!/usr/bin/python3
"""A robot agent in Python: events, commands, the REST tunnel and live video over WebRTC.

    RELAY_DEVICE_SECRET=... /usr/bin/python3 examples/python-robot/robot.py \\
        --relay https://relay.example.com --device-id wimz-001 --local-api http://127.0.0.1:5000

Built on the relay_robot module (the C++ robot SDK; docs/python.md) and aiortc. Each app's
webrtc_request gets its own peer connection fed from one camera (or the test pattern) through
aiortc's MediaRelay, so a session that replaces another (protocol decision 28) shares the source.
Stops cleanly on SIGINT or SIGTERM. Exit status: 0 success, 1 failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import stat
import sys
import time

import relay_robot
from aiortc import MediaStreamTrack, RTCSessionDescription
from aiortc.contrib.media import MediaPlayer, MediaRelay

import relay_webrtc
from pattern import PatternTrack

log = logging.getLogger("robot.py")

EPILOG = """\
The device secret is read from RELAY_DEVICE_SECRET or --secret-file (never a flag value: flags
show in `ps`); a robot registered with a public key uses --key-file instead.

Commands answered: start_mission {"name"?}, stop_mission, status; any other command fails
with UNKNOWN_COMMAND. Events sent: battery (every --battery-interval s) and mission_progress
(0..100 %% while a mission runs). WebRTC: video from --video, or the test pattern that
viewer.py reads to measure frames, fps and glass-to-glass latency.
"""


def read_secret_file(path: str) -> str:
    """The first line of the file, as robot-agent reads it, with a warning when others can read it."""
    try:
        with open(path, encoding="utf-8") as f:
            secret = f.readline().rstrip("\r\n \t")
    except OSError as error:
        raise relay_webrtc.UsageError(f"cannot read --secret-file {path}: {error.strerror}") from None
    if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users; chmod 600 it", path)
    return secret


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="robot.py",
        description="Connects this robot to the relay and streams video to the apps that ask.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --secret must not pass for --secret-file
    )
    parser.add_argument("--relay", required=True, help="the relay: https://…, wss://… or http://127.0.0.1:8000")
    parser.add_argument("--device-id", required=True, help="this robot's device id")
    parser.add_argument("--secret-file", help="read the device secret from FILE (first line)")
    parser.add_argument("--key-file", help="this robot's Ed25519 private key (PEM), for a device registered with a public key")
    parser.add_argument("--ca-file", help="extra trusted CA certificates (PEM) for wss://")
    parser.add_argument("--local-api", help="forward REST-tunnel requests to the robot's local API, e.g. http://127.0.0.1:5000")
    parser.add_argument("--video", help="camera device (/dev/video0) or media file; default: the test pattern")
    parser.add_argument("--width", type=int, default=640, help="video width (default 640)")
    parser.add_argument("--height", type=int, default=480, help="video height (default 480)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    parser.add_argument("--ice-transport-policy", choices=["all", "relay"], default="all",
                        help="relay: use TURN relay candidates only (default all)")
    parser.add_argument("--battery-interval", type=float, default=30.0, help="seconds between battery events (default 30)")
    parser.add_argument("--mission-step", type=float, default=1.0, help="seconds per 10 %% of a demo mission (default 1)")
    parser.add_argument("--acknowledged-events", action="store_true",
                        help="events carry ids and wait in the outbox until the relay acknowledges them")
    parser.add_argument("--firmware", default="python-robot/1.0", help="firmware version announced to the relay")
    parser.add_argument("--verbose", action="store_true", help="log aiortc's and aioice's own debug lines too")
    for flag in ("--secret", "--device-secret"):
        parser.add_argument(flag, dest="secret_flag", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.secret_flag is not None:
        raise relay_webrtc.UsageError("the device secret is never a flag value (flags show in `ps`); set RELAY_DEVICE_SECRET or use --secret-file")
    args.secret = None
    if args.secret_file:
        args.secret = read_secret_file(args.secret_file)
    elif not args.key_file:
        args.secret = os.environ.get("RELAY_DEVICE_SECRET") or None
    if not args.secret and not args.key_file:
        raise relay_webrtc.UsageError("no device secret: set RELAY_DEVICE_SECRET, use --secret-file, or --key-file")
    if args.fps <= 0 or args.battery_interval <= 0 or args.mission_step <= 0:
        raise relay_webrtc.UsageError("--fps, --battery-interval and --mission-step must be positive")
    return args


class Yuv420Track(MediaStreamTrack):
    """The source's frames converted to yuv420p once, before MediaRelay shares them.

    aiortc's VP8/H.264 encoders convert any other format themselves with the frame's own
    reformatter; when two peer connections (a session and its renewal) encode the same shared
    frame at once, both threads use that one reformatter and libswscale crashes the process
    (seen as a segfault in vpx.py's encode). A frame already in yuv420p is only read."""

    kind = "video"

    def __init__(self, source) -> None:
        super().__init__()
        self._source = source

    async def recv(self):
        frame = await self._source.recv()
        if frame.format.name == "yuv420p":
            return frame
        converted = frame.reformat(format="yuv420p")
        converted.pts, converted.time_base = frame.pts, frame.time_base
        return converted

    def stop(self) -> None:
        super().stop()
        self._source.stop()


class VideoSource:
    """One camera, file or test pattern, shared by every peer connection through MediaRelay."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._player = None
        if args.video:
            options = {"video_size": f"{args.width}x{args.height}", "framerate": f"{args.fps:g}"}
            try:
                if args.video.startswith("/dev/video"):
                    self._player = MediaPlayer(args.video, format="v4l2", options=options)
                else:
                    self._player = MediaPlayer(args.video, loop=True)
            except Exception as error:  # PyAV's errors for a missing device or an unreadable file
                raise relay_webrtc.UsageError(f"--video {args.video}: {error}") from None
            if self._player.video is None:
                raise relay_webrtc.UsageError(f"--video {args.video}: no video stream")
            self._track = self._player.video
        else:
            self._track = PatternTrack(args.width, args.height, args.fps)
        self._track = Yuv420Track(self._track)
        self._relay = MediaRelay()

    def subscribe(self):
        # Unbuffered: a slow peer connection drops frames instead of falling behind live.
        return self._relay.subscribe(self._track, buffered=False)


class Robot:
    def __init__(self, args: argparse.Namespace, client: relay_robot.Client) -> None:
        self.args = args
        self.client = client
        self.video = VideoSource(args)
        self.sessions: dict[str, relay_webrtc.PeerSession] = {}
        self.refused_usernames: set[str] = set()
        self.tasks = relay_webrtc.Tasks()
        self.spawn = self.tasks.spawn
        self.mission: asyncio.Task | None = None
        self.mission_name: str | None = None
        self.mission_pct = 0
        self.battery_pct = 100
        self.started = time.monotonic()
        relay_webrtc.watch_turn_refresh(self.on_turn_refresh_failed)

    # --- events and commands -------------------------------------------------------------

    async def battery_loop(self) -> None:
        while True:
            self.client.send_event("battery", {"pct": self.battery_pct, "charging": False})
            await asyncio.sleep(self.args.battery_interval)
            self.battery_pct = max(5, self.battery_pct - 1)

    async def run_mission(self, name: str) -> None:
        try:
            for pct in range(0, 101, 10):
                self.mission_pct = pct
                self.client.send_event("mission_progress", {"mission": name, "pct": pct})
                if pct < 100:
                    await asyncio.sleep(self.args.mission_step)
            log.info("mission %s done", name)
        finally:
            self.mission = None

    def on_command(self, cmd: dict):
        name = cmd.get("command")
        data = cmd.get("data") or {}
        if name == "start_mission":
            if self.mission is not None:
                raise relay_robot.CommandError("MISSION_RUNNING", f"mission {self.mission_name} is running")
            self.mission_name = str(data.get("name") or "patrol")
            self.mission_pct = 0
            self.mission = self.spawn(self.run_mission(self.mission_name))
            return {"mission": self.mission_name, "started": True}
        if name == "stop_mission":
            running = self.mission is not None
            if running:
                self.mission.cancel()
                self.client.send_event("mission_progress", {"mission": self.mission_name, "pct": self.mission_pct, "stopped": True})
            return {"stopped": running}
        if name == "status":
            return {
                "mission": {"name": self.mission_name, "pct": self.mission_pct} if self.mission else None,
                "battery_pct": self.battery_pct,
                "video_sessions": len(self.sessions),
                "uptime_s": round(time.monotonic() - self.started, 1),
            }
        raise relay_robot.CommandError("UNKNOWN_COMMAND", f"unknown command {name!r}")

    # --- WebRTC ------------------------------------------------------------------------------

    def on_turn_refresh_failed(self, username, server, error) -> None:
        code = relay_webrtc.turn_error_code(error)
        if code == 401:
            self.refused_usernames.add(username)
            log.error("TURN 401: %s refused to refresh an allocation; %s", server[0],
                      relay_webrtc.diagnose_turn_401(username, server[0]))
        else:
            log.error("TURN allocation refresh failed on %s: %s", server[0], error)

    def end_session(self, session: relay_webrtc.PeerSession, reason: str | None) -> None:
        """Forgets the session and closes its peer connection; tells the relay when `reason`
        is given (the robot ends it), not when the app or relay already did."""
        if session.ended:
            return
        session.ended = True
        self.sessions.pop(session.session_id, None)
        if reason is not None:
            self.client.send_webrtc_close(session.session_id, reason)
        self.spawn(session.pc.close())

    async def on_webrtc_request(self, req: dict) -> None:
        session_id = req["session_id"]
        replaces = req.get("replaces")
        try:
            session = relay_webrtc.PeerSession(session_id, req.get("turn_credentials") or {})
        except ValueError as error:  # relay-only ICE without any TURN or STUN server
            log.error("session %s: %s", session_id, error)
            self.client.send_webrtc_close(session_id, "no_turn_server")
            return
        turn = session.turn
        log.info("session %s requested by %s%s; TURN %s", session_id, req.get("from_user"),
                 f", replacing {replaces}" if replaces else "", f"{turn[0]}:{turn[1]}" if turn else "none")
        self.sessions[session_id] = session
        pc = session.pc
        # The old session of a renewal is left alone: the app closes it once this one carries video.
        pc.addTrack(self.video.subscribe())
        pc.on("connectionstatechange", lambda: self.on_connection_state(session))
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except Exception as error:  # gathering: the TURN allocation is where it fails
            if not session.ended:
                reason, text = session.diagnose(error)
                log.error("session %s: %s", session_id, text)
                self.end_session(session, reason)
            return
        if session.ended:
            return
        self.client.send_webrtc_offer(session_id, pc.localDescription.sdp)
        for candidate in relay_webrtc.local_candidates(pc):
            self.client.send_webrtc_ice(session_id, relay_webrtc.candidate_message(candidate))
        self.client.send_webrtc_ice(session_id, None)

    def on_connection_state(self, session: relay_webrtc.PeerSession) -> None:
        state = session.pc.connectionState
        log.info("session %s: %s", session.session_id, state)
        if session.ended:
            return
        if state == "connected":
            self.spawn(self.report_connected(session))
        elif state == "failed":
            kind = relay_webrtc.connection_type(session.pc)
            self.client.send_webrtc_stats(session.session_id, "failed", kind, None)
            refused = session.turn is not None and session.turn[2] in self.refused_usernames
            self.end_session(session, "turn_unauthorized" if refused else "ice_failed")

    async def report_connected(self, session: relay_webrtc.PeerSession) -> None:
        kind = relay_webrtc.connection_type(session.pc)
        log.info("session %s connected: connection_type=%s", session.session_id, kind)
        # The relay keeps the rtt of the first connected report; the first RTCP receiver report
        # brings it, about a second in.
        rtt = None
        deadline = time.monotonic() + 2.0
        while rtt is None and time.monotonic() < deadline and not session.ended:
            await asyncio.sleep(0.5)
            rtt = await relay_webrtc.round_trip_ms(session.pc)
        if session.ended:
            return
        self.client.send_webrtc_stats(session.session_id, "connected", kind, rtt)
        log.info("session %s reported connected: connection_type=%s rtt_ms=%s", session.session_id, kind, rtt)

    async def on_webrtc_answer(self, msg: dict) -> None:
        session = self.sessions.get(msg["session_id"])
        if session is None:
            return
        sdp = msg["sdp"]
        async with session.lock:
            try:
                await session.pc.setRemoteDescription(RTCSessionDescription(
                    sdp=sdp["sdp"] if isinstance(sdp, dict) else sdp, type="answer"))
                session.described = True
            except Exception as error:
                log.error("session %s: the app's answer was refused: %r", session.session_id, error)
                self.end_session(session, "bad_answer")

    async def on_webrtc_ice(self, msg: dict) -> None:
        session = self.sessions.get(msg["session_id"])
        if session is not None:
            await session.add_candidate(msg.get("candidate"))

    def on_webrtc_close(self, msg: dict) -> None:
        session = self.sessions.get(msg["session_id"])
        log.info("session %s closed by %s: %s", msg["session_id"], msg.get("by"), msg.get("reason"))
        if session is not None:
            self.end_session(session, None)

    def on_disconnected(self, info: dict) -> None:
        # The relay ends a robot's sessions when its connection drops.
        log.warning("disconnected from the relay: %s", info)
        for session in list(self.sessions.values()):
            self.end_session(session, None)

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            self.end_session(session, "robot_stopping")
        if self.mission:
            self.mission.cancel()
        await self.tasks.wait(5)


async def run(args: argparse.Namespace) -> int:
    if args.ice_transport_policy == "relay":
        relay_webrtc.use_relay_only()
    capabilities = {"video": {"codecs": ["VP8"], "width": args.width, "height": args.height, "fps": args.fps},
                    "commands": ["start_mission", "stop_mission", "status"]}
    try:
        client = relay_robot.Client(args.relay, args.device_id, secret=args.secret, key_file=args.key_file,
                                    capabilities=capabilities, firmware=args.firmware, ca_file=args.ca_file,
                                    acknowledged_events=args.acknowledged_events)
    except ValueError as error:  # the module refuses a bad URL, device id or file
        raise relay_webrtc.UsageError(str(error)) from None
    robot = Robot(args, client)
    client.on_command(robot.on_command)
    client.on_webrtc_request(robot.on_webrtc_request)
    client.on_webrtc_answer(robot.on_webrtc_answer)
    client.on_webrtc_ice(robot.on_webrtc_ice)
    client.on_webrtc_close(robot.on_webrtc_close)
    client.on_disconnected(robot.on_disconnected)
    client.on_connected(lambda info: log.info("connected to the relay: %s", info))
    client.on_error(lambda error: log.warning("relay error: %s", error))
    if args.local_api:
        client.forward_rest(args.local_api)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await client.start()
    battery = robot.spawn(robot.battery_loop())
    await stopping.wait()
    log.info("stopping")
    battery.cancel()
    await robot.close()
    await client.flush(5.0)
    await client.stop()
    return 0


if __name__ == "__main__":
    sys.exit(relay_webrtc.main("robot.py", sys.argv[1:], parse_args, run))
