"""examples/python-robot/robot.py against a real relayd and coturn on loopback: live video through
TURN with relay-only ICE on both ends, watched by viewer.py; and the robot's commands, events and
REST tunnel as an app uses them."""

from __future__ import annotations

import asyncio
import http.server
import json
import secrets
import threading

import pytest
import websockets

import harness


class LocalApi(http.server.BaseHTTPRequestHandler):
    """The robot's local API: GET /status, and POST /missions/* echoing what it got."""

    def do_GET(self):
        self.answer(200, {"state": "idle", "path": self.path})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer(201, {"path": self.path, "received": json.loads(body or b"null")})

    def answer(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    directory = tmp_path_factory.mktemp("robot-example")
    secret = secrets.token_hex(16)
    parts = []
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LocalApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        turn = harness.Coturn(directory / "turn", secret)
        parts.append(turn)
        relay = harness.Relayd(directory / "relayd", {
            "RELAY_TURN_PROVIDER": "coturn", "RELAY_TURN_SECRET": secret,
            "RELAY_TURN_URLS": f"turn:127.0.0.1:{turn.port}?transport=udp,turn:127.0.0.1:{turn.port}?transport=tcp"})
        parts.append(relay)
        account = harness.Account(relay)
        robot = harness.start_robot(directory, relay, account, "--ice-transport-policy", "relay",
                                    "--width", "320", "--height", "240", "--mission-step", "0.1",
                                    "--battery-interval", "1", "--local-api", f"http://127.0.0.1:{api.server_port}")
        parts.append(robot)
        harness.eventually(lambda: harness.robot_online(relay, account), 30, "robot.py online:\n" + robot.output())
        yield directory, relay, account, robot
    finally:
        for part in reversed(parts):
            part.stop()
        api.shutdown()


def test_video_through_turn_with_relay_only_ice(stack):
    directory, relay, account, robot = stack
    status, lines, err = harness.run_viewer(directory, relay, account, "--relay-only", "--frames", "30",
                                            "--duration", "20", timeout=60)
    summary = lines[-1]
    assert summary["event"] == "summary", (lines, err)
    assert status == 0 and summary["decoded"] >= 30, (summary, err, robot.output())
    assert summary["connection_type"] == "relay"
    assert summary["latency_ms"]["p50"] is not None and summary["latency_ms"]["p50"] >= 0
    first = [line for line in lines if line["event"] == "first_frame"]
    assert first and first[0]["time_to_first_frame_ms"] > 0

    # The relay's session history holds the session as relayed, and robot.py reported it so too.
    session_id = summary["session_id"]

    def stored():
        rows = [row for row in relay.sessions(account.device_id) if row["session_id"] == session_id]
        return rows and rows[0]["ended_at"] is not None and rows[0]

    row = harness.eventually(stored, 10, "the session in the store")
    assert row["connection_type"] == "relay" and row["connected_at"] is not None
    harness.eventually(lambda: f"session {session_id} connected: connection_type=relay" in robot.output(), 10,
                       "robot.py's connected report:\n" + robot.output())


def app_socket(relay, account):
    return websockets.connect(f"ws://127.0.0.1:{relay.port}/ws/app",
                                    extra_headers={"Authorization": f"Bearer {account.token}"})


async def next_message(ws, predicate, timeout=15.0):
    async def find():
        while True:
            message = json.loads(await ws.recv())
            if predicate(message):
                return message
    return await asyncio.wait_for(find(), timeout)


def test_commands_events_and_rest_tunnel(stack):
    _, relay, account, _ = stack

    async def scenario():
        async with app_socket(relay, account) as ws:
            assert json.loads(await ws.recv())["type"] == "auth_ok"
            command = {"type": "command", "device_id": account.device_id}

            await ws.send(json.dumps({**command, "id": "c1", "command": "status"}))
            result = await next_message(ws, lambda m: m.get("type") == "command_result" and m.get("id") == "c1")
            assert result["ok"] is True and 5 <= result["data"]["battery_pct"] <= 100, result

            battery = await next_message(ws, lambda m: m.get("type") == "event" and m.get("event") == "battery")
            assert battery["device_id"] == account.device_id and "pct" in battery["data"]

            await ws.send(json.dumps({**command, "id": "c2", "command": "start_mission", "data": {"name": "kitchen"}}))
            result = await next_message(ws, lambda m: m.get("type") == "command_result" and m.get("id") == "c2")
            assert result["ok"] is True and result["data"]["mission"] == "kitchen"
            seen = []
            while not seen or seen[-1] < 100:
                event = await next_message(ws, lambda m: m.get("event") == "mission_progress")
                assert event["data"]["mission"] == "kitchen"
                seen.append(event["data"]["pct"])
            assert seen == list(range(0, 101, 10))

            await ws.send(json.dumps({**command, "id": "c3", "command": "self_destruct"}))
            result = await next_message(ws, lambda m: m.get("type") == "command_result" and m.get("id") == "c3")
            assert result["ok"] is False and result["error"]["code"] == "UNKNOWN_COMMAND", result

    asyncio.run(scenario())

    # The REST tunnel reaches the local API through the module's forwarder.
    status, body = relay.http("GET", f"/api/devices/{account.device_id}/rest/status", token=account.token)
    assert status == 200 and body == {"state": "idle", "path": "/status"}, body
    status, body = relay.http("POST", f"/api/devices/{account.device_id}/rest/missions/start", {"mission": "kitchen"},
                              token=account.token)
    assert status == 201 and body == {"path": "/missions/start", "received": {"mission": "kitchen"}}, body
