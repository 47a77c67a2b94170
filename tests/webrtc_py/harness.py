"""Real parts for the Python WebRTC tests: coturn, relayd, robot.py and viewer.py as processes on
127.0.0.1, each with its output in a file of the test's temporary directory, all stopped (their
whole process group) when the test ends, whatever happened.

Paths come from ctest's environment (tests/CMakeLists.txt): RELAY_TEST_RELAYD (relayd of the
build tree), RELAY_PYTHON_ROBOT_DIR (examples/python-robot) and PYTHONPATH (the build tree's
relay_robot module).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from aioice import stun

PYTHON = "/usr/bin/python3"  # the Debian interpreter: aiortc and the module's ABI


def require(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise RuntimeError(f"{variable} is not set: run these tests through ctest (label webrtc_py)")
    return value


def eventually(condition, timeout: float, what: str, interval: float = 0.1):
    """Polls condition() until it returns something true; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child in its own process group, its output in `log_path`."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      env=env, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signals the process group, waits, kills what is left; the exit status."""
        if self.running():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


def stun_binding_ok(port: int) -> bool:
    """Whether a STUN server answers a Binding request on 127.0.0.1:port (UDP)."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(bytes(request), ("127.0.0.1", port))
            data, _ = s.recvfrom(2048)
            return stun.parse_message(data).transaction_id == request.transaction_id
        except (OSError, ValueError):
            return False


class Coturn:
    """coturn with use-auth-secret on 127.0.0.1, relaying to loopback peers (the flags of
    tests/turn/processes.cpp); `extra` adds flags such as --max-allocate-lifetime."""

    def __init__(self, directory: Path, secret: str, extra: list[str] = ()) -> None:
        program = shutil.which("turnserver") or "/usr/bin/turnserver"
        if not os.path.exists(program):
            raise RuntimeError("turnserver not found: install coturn")
        self.secret = secret
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(5):  # another process may take the port first: pick another
            self.port = free_port()
            argv = [program, "-n", "--listening-ip=127.0.0.1", f"--listening-port={self.port}",
                    "--relay-ip=127.0.0.1", "--use-auth-secret", f"--static-auth-secret={secret}",
                    "--realm=relay.test", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
                    "--simple-log", "--no-stdout-log", f"--log-file={self.dir}/turn.log",
                    f"--pidfile={self.dir}/turn.pid", f"--db={self.dir}/turndb", *extra]
            self.process = Process(argv, self.dir / f"stdout-{attempt}.txt")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.running():
                if stun_binding_ok(self.port):
                    return
                time.sleep(0.05)
            self.process.stop()
        raise RuntimeError("turnserver did not start:\n" + self.log())

    def log(self) -> str:
        # coturn appends the date to --log-file's name with --simple-log off; read every variant.
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("turn*.log")))

    def stop(self) -> None:
        self.process.stop()


class Relayd:
    """relayd on a port of its choosing with an SQLite file, as the C++ suites start it."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.database = directory / "relay.db"
        self.log_index = 0
        self.dir = directory
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RELAY_HOST": "127.0.0.1", "RELAY_PORT": "0",
                    "RELAY_DATABASE": str(self.database), "RELAY_THREADS": "2",
                    "RELAY_JWT_SECRET": secrets.token_hex(32), **env}
        self.start()

    def start(self, port: int = 0) -> None:
        """Starts (again, on `port` when given: a restart keeps the address)."""
        self.env["RELAY_PORT"] = str(port)
        self.log_index += 1
        self.process = Process([require("RELAY_TEST_RELAYD")], self.dir / f"relayd-{self.log_index}.log", env=self.env)

        def listening():
            found = re.search(r'(?: listening .*?port=|"event":"listening".*?"port":)(\d+)', self.process.output())
            if not found and not self.process.running():
                raise RuntimeError("relayd exited at start:\n" + self.process.output())
            return found

        self.port = int(eventually(listening, 20, "relayd listening").group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.stop()

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("relayd-*.log")))

    def http(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, object]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                text = answer.read()
                return answer.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, text.decode(errors="replace")

    def sessions(self, device_id: str) -> list[dict]:
        """The device's WebRTC session history, from the store."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM webrtc_sessions WHERE device_id = ? ORDER BY started_at", (device_id,))
            return [dict(row) for row in rows]


class Account:
    """A user who owns one device: what robot.py and viewer.py need."""

    def __init__(self, relay: Relayd, device_id: str = "wimz-py") -> None:
        self.email = f"owner-{secrets.token_hex(4)}@example.com"
        self.password = "correct horse battery staple"
        status, _ = relay.http("POST", "/api/auth/register", {"email": self.email, "password": self.password})
        assert status == 201, status
        status, tokens = relay.http("POST", "/api/auth/login", {"email": self.email, "password": self.password})
        assert status == 200, tokens
        self.token = tokens["access_token"]
        status, device = relay.http("POST", "/api/devices", {"name": "WIM-Z in Python", "device_id": device_id}, self.token)
        assert status == 201, device
        self.device_id = device["device_id"]
        self.secret = device["device_secret"]


def examples_dir() -> Path:
    return Path(require("RELAY_PYTHON_ROBOT_DIR"))


def start_robot(directory: Path, relay: Relayd, account: Account, *args: str, name: str = "robot") -> Process:
    env = {**os.environ, "RELAY_DEVICE_SECRET": account.secret}
    argv = [PYTHON, str(examples_dir() / "robot.py"), "--relay", relay.url, "--device-id", account.device_id, *args]
    return Process(argv, directory / f"{name}.log", env=env)


def run_viewer(directory: Path, relay: Relayd, account: Account, *args: str, timeout: float,
               name: str = "viewer") -> tuple[int, list[dict], str]:
    """Runs viewer.py --json to its end: (exit status, its JSON lines, its stderr)."""
    env = {**os.environ, "RELAY_PASSWORD": account.password}
    argv = [PYTHON, str(examples_dir() / "viewer.py"), "--relay", relay.url, "--device-id", account.device_id,
            "--email", account.email, "--json", *args]
    with open(directory / f"{name}.err", "wb") as err:
        done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=err, timeout=timeout)
    lines = [json.loads(line) for line in done.stdout.decode().splitlines() if line.startswith("{")]
    (directory / f"{name}.out").write_bytes(done.stdout)
    return done.returncode, lines, (directory / f"{name}.err").read_text(errors="replace")


def robot_online(relay: Relayd, account: Account) -> bool:
    status, device = relay.http("GET", f"/api/devices/{account.device_id}", token=account.token)
    return status == 200 and device.get("online")
