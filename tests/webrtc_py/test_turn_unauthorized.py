"""A coturn whose secret is not the relay's: robot.py's TURN allocation gets 401, it logs the
diagnosis of docs/webrtc.md, and the app gets webrtc_close with a reason within seconds instead of
a session that stalls."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time

import pytest
from aioice import turn as aioice_turn

import harness
import relay_webrtc


def test_wrong_coturn_secret_is_diagnosed_and_the_app_told(tmp_path):
    turn = harness.Coturn(tmp_path / "turn", secrets.token_hex(16))
    relay = robot = None
    try:
        relay = harness.Relayd(tmp_path / "relayd", {
            "RELAY_TURN_PROVIDER": "coturn", "RELAY_TURN_SECRET": secrets.token_hex(16),
            "RELAY_TURN_URLS": f"turn:127.0.0.1:{turn.port}?transport=udp"})
        account = harness.Account(relay)
        robot = harness.start_robot(tmp_path, relay, account, "--ice-transport-policy", "relay",
                                    "--width", "320", "--height", "240")
        harness.eventually(lambda: harness.robot_online(relay, account), 30, "robot.py online:\n" + robot.output())

        status, lines, err = harness.run_viewer(tmp_path, relay, account, "--relay-only", "--duration", "30",
                                                timeout=60)
        closes = [line for line in lines if line["event"] == "remote_close"]
        assert status == 1 and closes, (lines, err, robot.output())
        assert closes[0]["reason"] == "turn_unauthorized" and closes[0]["by"] == "robot"
        # Within seconds (the viewer's clock starts when it connects), not at a timeout.
        assert closes[0]["t"] < 15, closes
        assert lines[-1]["event"] == "summary" and lines[-1]["frames"] == 0

        log = robot.output()
        assert "TURN 401 Unauthorized" in log and "wrong secret" in log, log
        assert "coturn's static-auth-secret differs from RELAY_TURN_SECRET" in log
        # coturn saw the credentials and refused them.
        harness.eventually(lambda: "401" in turn.log() or "Cannot find credentials" in turn.log() or
                           "check_stun_auth" in turn.log(), 5, "coturn's log of the refusal:\n" + turn.log())
        row = harness.eventually(lambda: [r for r in relay.sessions(account.device_id) if r["ended_at"]], 10,
                                 "the session's end in the store")[0]
        assert row["end_reason"] == "turn_unauthorized" and row["connected_at"] is None
    finally:
        for part in (robot, relay, turn):
            if part:
                part.stop()


def test_an_expired_credential_cannot_allocate_and_is_diagnosed_as_expired(tmp_path):
    """What renewal guards against with coturn: a new allocation (a new session, an ICE restart)
    with a credential past its expiry gets 401, which the diagnosis names. (coturn 4.6.1 keeps
    refreshing an allocation made before the expiry: see docs/python.md.)"""
    secret = secrets.token_hex(16)
    server = harness.Coturn(tmp_path / "turn", secret)
    try:
        # Signed as the relay's coturn provider signs (TURN REST API), expired 30 s ago.
        username = f"{int(time.time()) - 30}:wimz-py"
        password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()

        async def allocate():
            await aioice_turn.create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", server.port),
                                                   username, password)

        with pytest.raises(Exception) as refused:
            asyncio.run(allocate())
        assert relay_webrtc.turn_error_code(refused.value) == 401, refused.value
        diagnosis = relay_webrtc.diagnose_turn_401(username, "127.0.0.1")
        assert diagnosis.startswith("expired credential or clock skew") and "'wimz-py'" in diagnosis
    finally:
        server.stop()
