"""A relay-only video session three times longer than its TURN credentials live (protocol
decision 28): RELAY_TURN_TTL=60 and coturn capping allocations at 30 s, so both ends refresh
their allocations every 25 s; viewer.py replaces the session with fresh credentials every 40 s
(two thirds of the ttl), and the video never pauses for more than a second."""

from __future__ import annotations

import secrets

import harness

SESSION_S = 180


def test_renewal_keeps_video_flowing_past_credential_expiry(tmp_path):
    secret = secrets.token_hex(16)
    turn = harness.Coturn(tmp_path / "turn", secret, ["--max-allocate-lifetime=30"])
    relay = robot = None
    try:
        relay = harness.Relayd(tmp_path / "relayd", {
            "RELAY_TURN_PROVIDER": "coturn", "RELAY_TURN_SECRET": secret, "RELAY_TURN_TTL": "60",
            "RELAY_TURN_URLS": f"turn:127.0.0.1:{turn.port}?transport=udp"})
        account = harness.Account(relay)
        robot = harness.start_robot(tmp_path, relay, account, "--ice-transport-policy", "relay",
                                    "--width", "320", "--height", "240")
        harness.eventually(lambda: harness.robot_online(relay, account), 30, "robot.py online:\n" + robot.output())

        status, lines, err = harness.run_viewer(tmp_path, relay, account, "--relay-only", "--duration", str(SESSION_S),
                                                timeout=SESSION_S + 60)
        summary = lines[-1]
        assert summary["event"] == "summary", (lines[-5:], err)
        renewed = [line for line in lines if line["event"] == "renewed"]
        sessions = [line for line in lines if line["event"] == "session"]
        context = (summary, renewed, err[-3000:], robot.output()[-3000:])
        assert status == 0, context
        # Renewed at 40, 80, 120 and 160 s; a slow CI may push the last one past the end.
        assert len(renewed) >= 3 and summary["renewals"] == len(renewed), context
        assert summary["max_gap_ms"] < 1000, context
        assert summary["connection_type"] == "relay", context
        # Each replacement came with new credentials, before the old ones expired.
        assert len({s["turn_username"] for s in sessions}) == len(sessions), sessions
        assert all(r["replaced_credential_left_s"] > 0 for r in renewed), renewed
        assert all(r["connection_type"] == "relay" for r in renewed), renewed

        # The store: every replaced session ended as "replaced", each one went through TURN.
        replaced = {r["replaced"] for r in renewed}

        def history():
            rows = {row["session_id"]: row for row in relay.sessions(account.device_id)}
            return all(rows.get(s, {}).get("ended_at") for s in replaced) and rows

        rows = harness.eventually(history, 20, "the replaced sessions' ends in the store")
        for session_id in replaced:
            assert rows[session_id]["end_reason"] == "replaced", rows[session_id]
            assert rows[session_id]["connection_type"] == "relay", rows[session_id]
    finally:
        for part in (robot, relay, turn):
            if part:
                part.stop()
