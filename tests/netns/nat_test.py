#!/usr/bin/env python3
"""The field's network in a box (issue 17 item 4): the Python robot behind one symmetric NAT, the
viewer behind another, relayd and coturn on a public address (topology.py draws it).

    nat_test.py symmetric      the NATs really map per destination; the LANs meet nowhere
    nat_test.py stun-only      no TURN: ICE fails, no frame, the failure is reported
    nat_test.py turn           relay-issued coturn credentials: video flows, through TURN
    nat_test.py wrong-secret   relayd and coturn disagree: the 401 diagnosis, webrtc_close at once

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import topology  # noqa: E402
from topology import PUBLIC_ADDRESS, SECOND_PUBLIC_ADDRESS, Topology, wait_until  # noqa: E402

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("RELAY_TEST_SOURCE_DIR", HERE.parents[1]))
ROBOT = SOURCE_DIR / "examples/python-robot/robot.py"
VIEWER = SOURCE_DIR / "examples/python-robot/viewer.py"
RELAY_URL = f"http://{PUBLIC_ADDRESS}:8000"
STUN_URL = f"stun:{PUBLIC_ADDRESS}:3478"
TURN_URLS = f"turn:{PUBLIC_ADDRESS}:3478?transport=udp,turn:{PUBLIC_ADDRESS}:3478?transport=tcp"


class Failed(Exception):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise Failed(message)


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
        wait_until(lambda: self.top.run(self.top.robot, PYTHON, str(HERE / "stun_probe.py"),
                                        f"{PUBLIC_ADDRESS}:3478", check=False).returncode == 0,
                   timeout=20, interval=0.2, what="STUN answer from coturn")

    def start_relayd(self, **env: str) -> None:
        relayd = os.environ.get("RELAY_TEST_RELAYD", "")
        check(relayd and os.path.exists(relayd), "RELAY_TEST_RELAYD must name the relayd binary")
        self.database = self.work / "relay.db"
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "RELAY_HOST": PUBLIC_ADDRESS, "RELAY_PORT": "8000",
                "RELAY_DATABASE": str(self.database), "RELAY_THREADS": "2",
                "RELAY_JWT_SECRET": secrets.token_hex(32), "RELAY_SCRYPT_LN": "10",
                "RELAY_LOG_LEVEL": "debug", **env}
        self.relayd = self.top.spawn(self.top.pub, [relayd], self.work / "relayd.log", env=full)
        wait_until(lambda: self.relayd.poll() is not None or self.http("GET", "/health")[0] == 200,
                   timeout=30, interval=0.2, what="relayd /health")
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
        wait_until(online, timeout=30, interval=0.3, what="robot online")

    def start_viewer(self, duration: float) -> None:
        check(VIEWER.exists(), f"{VIEWER} is missing")
        self.viewer = self.top.spawn(self.top.viewer, [PYTHON, str(VIEWER), "--relay", RELAY_URL,
                                                       "--device-id", self.device_id,
                                                       "--email", self.email, "--json",
                                                       "--duration", str(duration)],
                                     self.work / "viewer.log",
                                     env=self.python_env(RELAY_PASSWORD=self.password))
        self.viewer_started = time.monotonic()

    def viewer_lines(self) -> list[dict]:
        lines = []
        for line in self.text("viewer.log").splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        return lines

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

def probe(top: Topology, ns: str, *servers: str) -> list[int]:
    r = top.run(ns, PYTHON, str(HERE / "stun_probe.py"), *servers, check=False)
    check(r.returncode == 0, f"stun_probe in {ns}: {r.stdout}{r.stderr}")
    mapped = [json.loads(line)["mapped"] for line in r.stdout.splitlines()]
    print(f"{ns}: " + ", ".join(f"{s} -> {m}" for s, m in zip(servers, mapped)))
    return mapped


def scenario_symmetric(top: Topology, field: Field) -> None:
    field.start_coturn("unused")
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
    r = top.run(top.robot_nat, "ip", "-j", "route", "get", topology.VIEWER_LAN[1])
    check(json.loads(r.stdout)[0].get("gateway") == topology.INTERNET_GATEWAY,
          f"the robot's router must reach the viewer's LAN only through the public side: {r.stdout}")


def scenario_stun_only(top: Topology, field: Field) -> None:
    field.start_coturn(secrets.token_hex(16))
    field.start_relayd(RELAY_TURN_PROVIDER="none", RELAY_STUN_URLS=STUN_URL)
    field.make_account()
    field.start_robot()
    field.start_viewer(duration=150)
    # aioice gives up on its checks after about 64 s; the robot then reports the failure and
    # closes with a reason, which the viewer receives. Bounded: well below the ctest timeout.
    close = wait_until(lambda: next((l for l in field.viewer_lines() if l.get("type") == "webrtc_close"
                                     or l.get("event") == "webrtc_close"), None) or _viewer_ended(field),
                       timeout=150, interval=0.5, what="webrtc_close at the viewer")
    lines = field.viewer_lines()
    frames = max((int(l.get("frames", 0)) for l in lines), default=0)
    check(frames == 0, f"no frame may arrive without a relay path, the viewer decoded {frames}")
    check(isinstance(close, dict) and close.get("reason"), f"the viewer must get webrtc_close with a reason: {close}")
    check(field.metric("relay_webrtc_failures_total", 'reason="ice_failed"') >= 1,
          "the robot must report webrtc_stats failed to the relay")
    rows = field.sessions()
    check(rows and rows[-1]["connected_at"] is None, f"the session must never connect: {[dict(r) for r in rows]}")
    print(f"stun-only: webrtc_close {close} after {time.monotonic() - field.viewer_started:.1f} s, 0 frames")


def scenario_turn(top: Topology, field: Field) -> None:
    secret = secrets.token_hex(16)
    field.start_coturn(secret)
    field.start_relayd(RELAY_TURN_PROVIDER="coturn", RELAY_TURN_SECRET=secret, RELAY_TURN_URLS=TURN_URLS,
                       RELAY_STUN_URLS=STUN_URL)
    field.make_account()
    field.start_robot()
    field.start_viewer(duration=60)

    def enough():
        _fail_if_viewer_died(field)
        return max((int(l.get("frames", 0)) for l in field.viewer_lines()), default=0) >= 30
    wait_until(enough, timeout=60, interval=0.5, what="30 frames at the viewer")
    # Both ends report connected; the relay keeps the first report's type. Through two symmetric
    # NATs only relayed pairs work, whichever end reports first.
    rows = wait_until(lambda: [r for r in field.sessions() if r["connected_at"] is not None],
                      timeout=20, interval=0.5, what="a connected session in the relay's history")
    check(rows[-1]["connection_type"] == "relay", f"connection_type must be relay: {dict(rows[-1])}")
    check(field.metric("relay_webrtc_connections_total", 'type="relay"') >= 1,
          "relay_webrtc_connections_total{type=\"relay\"}")
    types = {l.get("connection_type") for l in field.viewer_lines() if l.get("connection_type")}
    check(types == {"relay"}, f"the viewer's selected pair must be relayed: {types}")
    print(f"turn: 30 frames after {time.monotonic() - field.viewer_started:.1f} s, connection_type relay")


def scenario_wrong_secret(top: Topology, field: Field) -> None:
    field.start_coturn(secrets.token_hex(16))
    field.start_relayd(RELAY_TURN_PROVIDER="coturn", RELAY_TURN_SECRET=secrets.token_hex(16),
                       RELAY_TURN_URLS=TURN_URLS, RELAY_STUN_URLS=STUN_URL)
    field.make_account()
    field.start_robot()
    field.start_viewer(duration=60)
    # "Within seconds": the 401 comes back from coturn during gathering, long before any ICE
    # timeout (64 s); 20 s leaves room for a loaded CI machine.
    close = wait_until(lambda: next((l for l in field.viewer_lines() if l.get("type") == "webrtc_close"
                                     or l.get("event") == "webrtc_close"), None) or _viewer_ended(field),
                       timeout=20, interval=0.2, what="webrtc_close at the viewer")
    check(isinstance(close, dict) and close.get("reason") == "turn_unauthorized",
          f"the viewer must get webrtc_close with reason turn_unauthorized: {close}")
    log = field.text("robot.log")
    check("401" in log and re.search(r"wrong secret", log, re.I),
          "robot.log must carry the 401 diagnosis naming the cause (wrong secret)")
    print(f"wrong-secret: webrtc_close {close} after {time.monotonic() - field.viewer_started:.1f} s")


def _viewer_ended(field: Field):
    if field.viewer.poll() is not None:
        return {"viewer_exited": field.viewer.returncode}
    return None


def _fail_if_viewer_died(field: Field) -> None:
    check(field.viewer.poll() is None, f"viewer.py exited with {field.viewer.returncode}")


SCENARIOS = {"symmetric": scenario_symmetric, "stun-only": scenario_stun_only,
             "turn": scenario_turn, "wrong-secret": scenario_wrong_secret}


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print(f"usage: nat_test.py {'|'.join(SCENARIOS)}", file=sys.stderr)
        return 2
    topology.skip_unless_supported()
    work = Path(tempfile.mkdtemp(prefix="relay-netns-"))
    ok = False
    field = None
    try:
        with Topology(work) as top:
            field = Field(top, work)
            SCENARIOS[sys.argv[1]](top, field)
            ok = True
    except (Failed, TimeoutError) as e:
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
