"""The TURN 401 diagnosis robot.py and viewer.py log (docs/webrtc.md, "Diagnosing STUN
transaction failed (401)"): the cause follows from the username alone."""

from __future__ import annotations

import relay_webrtc

NOW = 1_800_000_000.0


def test_a_coturn_credential_still_valid_means_a_wrong_secret():
    text = relay_webrtc.diagnose_turn_401(f"{int(NOW) + 3600}:wimz-001", "turn.example.com", NOW)
    assert text.startswith("wrong secret") and "'wimz-001'" in text and "3600 s" in text


def test_an_expired_coturn_credential_means_expiry_or_clock_skew():
    text = relay_webrtc.diagnose_turn_401(f"{int(NOW) - 90}:u_1", "turn.example.com", NOW)
    assert text.startswith("expired credential or clock skew") and "90 s ago" in text


def test_a_credential_that_expires_this_second_is_expired():
    assert relay_webrtc.diagnose_turn_401(f"{int(NOW)}:u_1", "turn.example.com", NOW).startswith("expired")


def test_a_rest_form_credential_sent_to_cloudflare_is_self_signed():
    text = relay_webrtc.diagnose_turn_401(f"{int(NOW) + 60}:u_1", "turn.cloudflare.com", NOW)
    assert text.startswith("self-signed credentials") and "RELAY_TURN_PROVIDER=cloudflare" in text


def test_anything_else_is_a_cloudflare_credential_revoked_or_expired():
    for username in ("g0a1b2c3d4e5f60718293a4b5c6d7e8f", "", None, "abc:def", ":x"):
        text = relay_webrtc.diagnose_turn_401(username, "turn.cloudflare.com", NOW)
        assert text.startswith("not a coturn REST credential") and "revoked" in text, username
