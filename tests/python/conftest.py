"""Fixtures for the relay_robot tests: a real relayd on a free loopback port with an SQLite file
in a temporary directory, accounts and devices made over its HTTP API, and a minimal app on
/ws/app (python3-websockets). ctest sets RELAY_TEST_RELAYD (the relayd binary) and PYTHONPATH
(build/python); see tests/python/CMakeLists.txt."""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
import websockets

RELAYD = os.environ.get("RELAY_TEST_RELAYD", "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Polls until predicate() is true; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


class Relayd:
    """relayd as a child process; restart() keeps its port and database."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "RELAY_HOST": "127.0.0.1",
            "RELAY_PORT": str(self.port),
            "RELAY_DATABASE": str(directory / "relay.db"),
            "RELAY_THREADS": "2",
            "RELAY_SCRYPT_LN": "10",
            # Fixed, so an app's access token survives restart().
            "RELAY_JWT_SECRET": secrets.token_hex(32),
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.log = directory / "relayd.log"
        self.start()

    def start(self) -> None:
        assert self.process is None
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([RELAYD], env=self.env, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"relayd exited with {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"relayd did not start listening:\n{self.output()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    # --- HTTP API (blocking; tests call it before their loop runs or through an executor) -----
    def http(self, method: str, path: str, body: Any = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                status, raw, ctype = res.status, res.read(), res.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            return status, json.loads(raw)
        return status, raw

    _counter = itertools.count(1)

    def account(self) -> "Account":
        email = f"py{next(self._counter)}-{os.getpid()}@example.com"
        creds = {"email": email, "password": "correct horse battery"}
        status, body = self.http("POST", "/api/auth/register", creds)
        assert status == 201, body
        status, body = self.http("POST", "/api/auth/login", creds)
        assert status == 200, body
        return Account(self, body["access_token"])


class Account:
    def __init__(self, relayd: Relayd, token: str) -> None:
        self.relayd = relayd
        self.token = token

    def device(self, device_id: str) -> str:
        """Creates the device; returns its secret."""
        status, body = self.relayd.http("POST", "/api/devices", {"device_id": device_id, "name": device_id},
                                        self.token)
        assert status == 201, body
        return body["device_secret"]

    async def app(self) -> "App":
        ws = await websockets.connect(f"ws://127.0.0.1:{self.relayd.port}/ws/app",
                                      extra_headers={"Authorization": f"Bearer {self.token}"})
        app = App(ws)
        await app.expect(lambda m: m["type"] == "auth_ok")
        return app


class App:
    """A minimal app on /ws/app: send JSON, wait for a message matching a predicate."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def expect(self, predicate: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        async def read() -> dict:
            while True:
                message = json.loads(await self.ws.recv())
                if predicate(message):
                    return message
        return await asyncio.wait_for(read(), timeout)

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture
def relayd_factory(tmp_path: Path):
    """relayd_factory(env) starts a relayd; every one is stopped at the end of the test."""
    if not RELAYD:
        pytest.fail("RELAY_TEST_RELAYD is not set (run through ctest)")
    started: list[Relayd] = []

    def make(env: dict[str, str] | None = None) -> Relayd:
        directory = tmp_path / f"relayd{len(started)}"
        directory.mkdir()
        r = Relayd(directory, env or {})
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


@pytest.fixture
def relayd(relayd_factory) -> Relayd:
    return relayd_factory()
