#!/usr/bin/env python3
"""The field's network in a box (issue 17 item 4): the Python robot behind one symmetric NAT, the
viewer behind another, relayd and coturn on a public address (docs/webrtc.md, "Tested behind
NATs", draws it).

    nat_test.py symmetric      the NATs really map per destination; the LANs meet nowhere
    nat_test.py stun-only      no TURN: ICE fails, no frame, the failure is reported
    nat_test.py turn           relay-issued coturn credentials: video flows, through TURN
    nat_test.py wrong-secret   relayd and coturn disagree: the 401 diagnosis, webrtc_close at once
    nat_test.py cone-control   stun-only's control: through full-cone NATs the session connects

Run as root (ctest does, see tests/netns/CMakeLists.txt) with RELAY_TEST_RELAYD (relayd of the
build), PYTHONPATH (build/python, for relay_robot) and RELAY_TEST_SOURCE_DIR (the examples).
Exit 0 = passed, 1 = failed, 77 = skipped (only when the kernel refuses network namespaces).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "webrtc_py")]
import topology  # noqa: E402
from harness import PYTHON, eventually  # noqa: E402  (tests/webrtc_py: the same robot and viewer on loopback)
from topology import PUBLIC_ADDRESS, SECOND_PUBLIC_ADDRESS, Topology  # noqa: E402

SOURCE_DIR = Path(os.environ.get("RELAY_TEST_SOURCE_DIR", HERE.parents[1]))
ROBOT = SOURCE_DIR / "examples/python-robot/robot.py"
VIEWER = SOURCE_DIR / "examples/python-robot/viewer.py"
RELAY_URL = f"http://{PUBLIC_ADDRESS}:8000"
STUN_URL = f"stun:{PUBLIC_ADDRESS}:3478"
TURN_URLS = f"turn:{PUBLIC_ADDRESS}:3478?transport=udp,turn:{PUBLIC_ADDRESS}:3478?transport=tcp"


def check(condition, message: str) -> None:
    if not condition:
        raise AssertionError(message)


class Field:
    """relayd and coturn in the public namespace, an account and a device made over HTTP from the
    viewer's side of the NAT, the robot and the viewer as processes in their namespaces."""

    def __init__(self, top: Topology, work: Path) -> None:
        self.top = top
        self.work = work
        self.token = ""
        self.device_id = ""
        self.device_secret = ""
        self.email = "owner@field.test"
        self.password = "correct horse battery staple"

    # -- the public side ----------------------------------------------------------------------

    def start_coturn(self, secret: str, *extra: str) -> None:
        program = shutil.which("turnserver")
        check(program, "turnserver not found: install coturn (scripts/dev.sh test does)")
        d = self.work / "coturn"
        d.mkdir()
        argv = [program, "-n",
                f"--listening-ip={PUBLIC_ADDRESS}", f"--listening-ip={SECOND_PUBLIC_ADDRESS}",
                "--listening-port=3478", f"--relay-ip={PUBLIC_ADDRESS}",
                "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=relay.test",
                "--no-tls", "--no-dtls", "--no-cli", "--simple-log", "--no-stdout-log",
                # As docs/webrtc.md configures coturn: no relaying into private networks. Here it
                # also matters otherwise: the public namespace has no route to the peers' host
                # candidates, and coturn drops a whole allocation when a send to a peer fails.
                "--denied-peer-ip=10.0.0.0-10.255.255.255",
                "--denied-peer-ip=172.16.0.0-172.31.255.255",
                "--denied-peer-ip=192.168.0.0-192.168.255.255",
                f"--log-file={d}/turn.log", f"--pidfile={d}/turn.pid", f"--db={d}/turndb", *extra]
        self.top.spawn(self.top.pub, argv, d / "stdout.txt")
        # Ready when it answers STUN through the robot's NAT.
        eventually(lambda: self.top.run(self.top.robot, PYTHON, str(HERE / "stun_probe.py"),
                                        f"{PUBLIC_ADDRESS}:3478", check=False).returncode == 0,
                   20, "a STUN answer from coturn", 0.2)

    def start_relayd(self, turn_refused: bool = False, **env: str) -> None:
        """Starts relayd and waits until it is ready: /health 200, or with `turn_refused` the 503
        whose `checks.turn` carries coturn's 401, which relayd's own TURN probe finds at start."""
        relayd = os.environ.get("RELAY_TEST_RELAYD", "")
        check(relayd and os.path.exists(relayd), "RELAY_TEST_RELAYD must name the relayd binary")
        self.database = self.work / "relay.db"
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "RELAY_HOST": PUBLIC_ADDRESS, "RELAY_PORT": "8000",
                "RELAY_DATABASE": str(self.database), "RELAY_THREADS": "2",
                "RELAY_JWT_SECRET": secrets.token_hex(32), "RELAY_SCRYPT_LN": "10",
                "RELAY_LOG_LEVEL": "debug", **env}
        self.relayd = self.top.spawn(self.top.pub, [relayd], self.work / "relayd.log", env=full)
        def ready() -> bool:
            if self.relayd.poll() is not None:
                return True
            status, body = self.http("GET", "/health")
            if not turn_refused:
                return status == 200
            return status == 503 and "401" in str((body or {}).get("checks", {}).get("turn", ""))

        eventually(ready, 30, "relayd's /health" + (" naming coturn's 401" if turn_refused else ""), 0.2)
        check(self.relayd.poll() is None, f"relayd exited:\n{self.text('relayd.log')}")

    def http(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """An HTTP call to relayd with curl from the viewer's namespace, through its NAT."""
        argv = ["curl", "-sS", "--max-time", "10", "-X", method, "-w", "\n%{http_code}",
                "-H", "Content-Type: application/json"]
        if self.token:
            argv += ["-H", f"Authorization: Bearer {self.token}"]
        if body is not None:
            argv += ["--data-binary", json.dumps(body)]
        r = self.top.run(self.top.viewer, *argv, RELAY_URL + path, check=False)
        if r.returncode != 0:
            return 0, r.stderr
        text, _, status = r.stdout.rpartition("\n")
        try:
            return int(status), json.loads(text) if text.strip() else None
        except ValueError:
            return int(status), text

    def make_account(self) -> None:
        status, body = self.http("POST", "/api/auth/register", {"email": self.email, "password": self.password})
        check(status == 201, f"register: {status} {body}")
        status, body = self.http("POST", "/api/auth/login", {"email": self.email, "password": self.password})
        check(status == 200, f"login: {status} {body}")
        self.token = body["access_token"]
        status, body = self.http("POST", "/api/devices", {"name": "wimz behind a NAT"})
        check(status == 201, f"create device: {status} {body}")
        self.device_id, self.device_secret = body["device_id"], body["device_secret"]

    def metric(self, name: str, labels: str) -> float:
        status, text = self.http("GET", "/metrics")
        check(status == 200, f"/metrics: {status}")
        m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", str(text), re.M)
        return float(m.group(1)) if m else 0.0

    def sessions(self) -> list[sqlite3.Row]:
        """The relay's WebRTC session history, read from its SQLite store."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
            db.row_factory = sqlite3.Row
            return db.execute("SELECT * FROM webrtc_sessions ORDER BY started_at").fetchall()

    # -- the peers -----------------------------------------------------------------------------

    def python_env(self, **extra: str) -> dict:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(self.work), **extra}

    def start_robot(self) -> None:
        check(ROBOT.exists(), f"{ROBOT} is missing")
        # The default ICE policy (all): the NATs, not a policy, must be what forces TURN.
        self.robot = self.top.spawn(self.top.robot, [PYTHON, str(ROBOT), "--relay", RELAY_URL,
                                                     "--device-id", self.device_id],
                                    self.work / "robot.log",
                                    env=self.python_env(RELAY_DEVICE_SECRET=self.device_secret))

        def online() -> bool:
            check(self.robot.poll() is None, f"robot.py exited:\n{self.text('robot.log')}")
            status, body = self.http("GET", f"/api/devices/{self.device_id}")
            return status == 200 and bool(body.get("online"))
        eventually(online, 30, "the robot online", 0.3)

    def start_viewer(self, duration: float) -> None:
        check(VIEWER.exists(), f"{VIEWER} is missing")
        self.viewer = self.top.spawn(self.top.viewer, [PYTHON, str(VIEWER), "--relay", RELAY_URL,
                                                       "--device-id", self.device_id,
                                                       "--email", self.email, "--json",
                                                       "--duration", str(duration)],
                                     self.work / "viewer.log",
                                     env=self.python_env(RELAY_PASSWORD=self.password))
        self.viewer_started = time.monotonic()

    def viewer_events(self, event: str | None = None) -> list[dict]:
        """viewer.py's --json lines so far (all, or those of one event)."""
        found = []
        for line in self.text("viewer.log").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass  # a line being written
        return [e for e in found if event is None or e.get("event") == event]

    def decoded_frames(self) -> int:
        """Frames whose test-pattern stamp the viewer decoded."""
        return max((int(e.get("decoded") or 0) for e in self.viewer_events() if "decoded" in e), default=0)

    def session_end(self, timeout: float, events=("remote_close", "closed")) -> dict:
        """The viewer's first line saying its session ended (by default: a webrtc_close it
        received, or its own close), within `timeout` s."""
        def ended():
            found = [e for e in self.viewer_events() if e.get("event") in events]
            check(found or self.viewer.poll() is None,
                  f"viewer.py exited with {self.viewer.returncode} before the session ended")
            return next(iter(found), None)
        return eventually(ended, timeout, f"{' or '.join(events)} at the viewer", 0.2)

    def text(self, name: str) -> str:
        p = self.work / name
        return p.read_text(errors="replace") if p.exists() else ""

    def dump(self) -> None:
        for name in ("relayd.log", "robot.log", "viewer.log", "coturn/turn.log"):
            text = self.text(name)
            if text:
                print(f"----- {name} (last 80 lines) -----", file=sys.stderr)
                print("\n".join(text.splitlines()[-80:]), file=sys.stderr)


# -- scenarios -------------------------------------------------------------------------------

def probe(top: Topology, ns: str, *servers: str) -> list[str]:
    """The public "address:port" each STUN server reports for one socket in `ns`, in order."""
    r = top.run(ns, PYTHON, str(HERE / "stun_probe.py"), *servers, check=False)
    check(r.returncode == 0, f"stun_probe in {ns}: {r.stdout}{r.stderr}")
    mapped = [json.loads(line)["mapped"] for line in r.stdout.splitlines()]
    print(f"{ns}: " + ", ".join(f"{s} -> {m}" for s, m in zip(servers, mapped)))
    return mapped


def scenario_symmetric(top: Topology, field: Field) -> None:
    field.start_coturn(secrets.token_hex(16))  # STUN only here: the secret is never used
    a, b, c = f"{PUBLIC_ADDRESS}:3478", f"{PUBLIC_ADDRESS}:3479", f"{SECOND_PUBLIC_ADDRESS}:3478"
    for ns, wan in ((top.robot, topology.ROBOT_NAT_WAN), (top.viewer, topology.VIEWER_NAT_WAN)):
        # One socket asks three destinations, then the first again.
        m = probe(top, ns, a, b, c, a)
        check(all(x.startswith(wan + ":") for x in m), f"mapped outside the NAT's WAN address: {m}")
        check(m[0] == m[3], f"the same destination must keep its mapping: {m}")
        check(len({m[0], m[1], m[2]}) == 3,
              f"a symmetric NAT maps each destination (port or address) to its own port: {m}")
    # The LANs: the public side has no route into either, and a LAN's router knows only its own.
    for lan_host in (topology.ROBOT_LAN[1], topology.VIEWER_LAN[1]):
        r = top.run(top.pub, "ip", "route", "get", lan_host, check=False)
        check(r.returncode != 0, f"the public side must not route to {lan_host}: {r.stdout}")
    for router, other_lan in ((top.robot_nat, topology.VIEWER_LAN[1]), (top.viewer_nat, topology.ROBOT_LAN[1])):
        r = top.run(router, "ip", "-j", "route", "get", other_lan)
        check(json.loads(r.stdout)[0].get("gateway") == topology.INTERNET_GATEWAY,
              f"{router} must reach the other LAN only through the public side: {r.stdout}")


def start_stun_only_session(field: Field, duration: float) -> None:
    """A session with STUN only: host and server-reflexive candidates, no TURN."""
    field.start_coturn(secrets.token_hex(16))
    field.start_relayd(RELAY_TURN_PROVIDER="none", RELAY_STUN_URLS=STUN_URL)
    field.make_account()
    field.start_robot()
    field.start_viewer(duration=duration)


def scenario_stun_only(top: Topology, field: Field) -> None:
    start_stun_only_session(field, duration=150)
    # aioice gives up its connectivity checks after about 64 s. Both ends see it at about the
    # same moment; whichever is first reports webrtc_stats failed and closes with reason
    # ice_failed (the viewer's own close or the robot's, received). Bounded well below ctest's
    # timeout.
    end = field.session_end(timeout=150)
    took = time.monotonic() - field.viewer_started
    check(end.get("reason") == "ice_failed", f"the session must end with reason ice_failed: {end}")
    # The viewer's lines come in order on its stdout: no frame and no connection before the close.
    check(field.decoded_frames() == 0 and not field.viewer_events("first_frame"),
          f"no frame may arrive without a relay path, the viewer decoded {field.decoded_frames()}")
    check(not field.viewer_events("connected"), "ICE must not connect through two symmetric NATs")
    check(field.metric("relay_webrtc_failures_total", 'reason="ice_failed"') >= 1,
          "an end must report webrtc_stats failed (relay_webrtc_failures_total{reason=\"ice_failed\"})")
    rows = eventually(lambda: [r for r in field.sessions() if r["ended_at"] is not None], 10,
                      "the ended session in the relay's history")
    check(rows[-1]["connected_at"] is None and rows[-1]["end_reason"] == "ice_failed",
          f"the history must show a session that never connected and ended ice_failed: {dict(rows[-1])}")
    print(f"stun-only: {end} {took:.1f} s after the viewer started, no frame")


def scenario_cone_control(top: Topology, field: Field) -> None:
    # The control of stun-only: the same session through full-cone NATs connects directly, so
    # what stops it there is the NATs' kind, and stun-only's assertions can fail.
    start_stun_only_session(field, duration=90)

    def enough():
        check(field.viewer.poll() is None, f"viewer.py exited with {field.viewer.returncode}")
        return field.decoded_frames() >= 30
    eventually(enough, 60, "30 decoded frames at the viewer", 0.5)
    types = {e.get("connection_type") for e in field.viewer_events("connected")}
    check(types and "relay" not in types, f"the pair must be direct (there is no TURN): {types}")
    print(f"cone-control: 30 frames decoded {time.monotonic() - field.viewer_started:.1f} s after the viewer "
          f"started, connection_type {', '.join(sorted(types))}")


def scenario_turn(top: Topology, field: Field) -> None:
    secret = secrets.token_hex(16)
    field.start_coturn(secret)
    field.start_relayd(RELAY_TURN_PROVIDER="coturn", RELAY_TURN_SECRET=secret, RELAY_TURN_URLS=TURN_URLS,
                       RELAY_STUN_URLS=STUN_URL)
    field.make_account()
    field.start_robot()
    field.start_viewer(duration=90)

    def enough():
        check(field.viewer.poll() is None, f"viewer.py exited with {field.viewer.returncode}")
        return field.decoded_frames() >= 30
    eventually(enough, 60, "30 decoded frames at the viewer", 0.5)
    took = time.monotonic() - field.viewer_started
    # Both ends report connected; the relay keeps the first report's type. Through two symmetric
    # NATs only pairs with a relayed end work, so either end says relay.
    rows = eventually(lambda: [r for r in field.sessions() if r["connected_at"] is not None], 20,
                      "a connected session in the relay's history", 0.5)
    check(rows[-1]["connection_type"] == "relay", f"connection_type must be relay: {dict(rows[-1])}")
    direct = sum(field.metric("relay_webrtc_connections_total", f'type="{t}"') for t in ("host", "srflx", "prflx"))
    check(field.metric("relay_webrtc_connections_total", 'type="relay"') == 1 and direct == 0,
          "relay_webrtc_connections_total must count one relayed session and nothing direct")
    types = {e.get("connection_type") for e in field.viewer_events("connected")}
    check(types == {"relay"}, f"the viewer's selected pair must be relayed: {types}")
    # The robot reports after its first RTCP round trip, usually after the viewer: its own
    # webrtc_stats, as its log records it, must say relay too.
    robot = eventually(lambda: re.search(r"reported connected: connection_type=(\w+)", field.text("robot.log")),
                       20, "the robot's webrtc_stats connected report", 0.5)
    check(robot.group(1) == "relay", f"the robot must report connection_type relay: {robot.group(0)}")
    first = field.viewer_events("first_frame")[0]
    print(f"turn: 30 frames decoded {took:.1f} s after the viewer started "
          f"(first frame after {first.get('time_to_first_frame_ms')} ms), connection_type relay")


def scenario_wrong_secret(top: Topology, field: Field) -> None:
    field.start_coturn(secrets.token_hex(16))
    # relayd's own TURN probe finds the wrong secret before any robot does (issue 19).
    field.start_relayd(turn_refused=True, RELAY_TURN_PROVIDER="coturn", RELAY_TURN_SECRET=secrets.token_hex(16),
                       RELAY_TURN_URLS=TURN_URLS, RELAY_STUN_URLS=STUN_URL)
    field.make_account()
    field.start_robot()
    field.start_viewer(duration=60)
    # "Within seconds": coturn answers the Allocate with 401 while the robot gathers, long before
    # any ICE timeout (64 s); 20 s leaves room for a loaded CI machine.
    close = field.session_end(timeout=20, events=("remote_close",))
    took = time.monotonic() - field.viewer_started
    check(close.get("reason") == "turn_unauthorized" and close.get("by") == "robot",
          f"the viewer must get the robot's webrtc_close with reason turn_unauthorized: {close}")
    log = field.text("robot.log")
    check(re.search(r"TURN 401 .*wrong secret", log),
          f"robot.log must carry the 401 diagnosis naming the cause (wrong secret):\n{log[-3000:]}")
    print(f"wrong-secret: webrtc_close {close} {took:.1f} s after the viewer started")


# scenario -> (what it runs, the NATs it runs behind)
SCENARIOS = {"symmetric": (scenario_symmetric, "symmetric"), "stun-only": (scenario_stun_only, "symmetric"),
             "turn": (scenario_turn, "symmetric"), "wrong-secret": (scenario_wrong_secret, "symmetric"),
             "cone-control": (scenario_cone_control, "cone")}


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print(f"usage: nat_test.py {'|'.join(SCENARIOS)}", file=sys.stderr)
        return 2
    topology.skip_unless_supported()
    work = Path(tempfile.mkdtemp(prefix="relay-netns-"))
    ok = False
    field = None
    try:
        run, nat = SCENARIOS[sys.argv[1]]
        with Topology(nat) as top:
            field = Field(top, work)
            run(top, field)
            ok = True
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
    except Exception:
        traceback.print_exc()
    finally:
        if not ok and field:
            field.dump()
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
