"""WebRTC signaling through relay_robot against relayd, and TURN credentials on request: from
the coturn provider (a shared secret is enough to sign them), and RelayError TURN_UNAVAILABLE
when the provider (Cloudflare's API, pointed at a closed port) is down."""
import asyncio
import threading

import pytest

import relay_robot
from conftest import free_port

COTURN = {
    "RELAY_TURN_PROVIDER": "coturn",
    "RELAY_TURN_SECRET": "python-test-secret",
    "RELAY_TURN_URLS": "turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp",
}


def test_signaling_both_ways(relayd_factory):
    relayd = relayd_factory(COTURN)
    owner = relayd.account()
    secret = owner.device("py-rtc")

    async def main():
        loop_thread = threading.get_ident()
        app = await owner.app()
        client = relay_robot.Client(relayd.url, "py-rtc", secret=secret)
        inbox: asyncio.Queue = asyncio.Queue()
        threads = []

        def put(kind):
            def handler(message):
                threads.append(threading.get_ident())
                inbox.put_nowait((kind, message))
            return handler

        client.on_webrtc_request(put("request"))
        client.on_webrtc_answer(put("answer"))
        client.on_webrtc_ice(put("ice"))
        client.on_webrtc_close(put("close"))

        async def next_message(kind):
            got_kind, message = await asyncio.wait_for(inbox.get(), 20)
            assert got_kind == kind, message
            return message

        async with client:
            await client.wait_connected(timeout=20)
            await app.send({"type": "webrtc_request", "device_id": "py-rtc", "id": "w1", "media": "video",
                            "quality": "low"})
            creds = await app.expect(lambda m: m["type"] == "webrtc_credentials")
            session = creds["session_id"]

            req = await next_message("request")
            assert req["session_id"] == session
            assert req["media"] == "video" and req["quality"] == "low"
            assert req["from_user"]
            assert "replaces" not in req or req["replaces"] is None
            turn = req["turn_credentials"]
            assert turn["urls"][0] == "turn:127.0.0.1:3478?transport=udp"
            assert turn["username"] and turn["credential"] and turn["ttl"] > 0

            assert client.send_webrtc_offer(session, "v=0\r\no=robot 1 1 IN IP4 127.0.0.1\r\n")
            offer = await app.expect(lambda m: m["type"] == "webrtc_offer")
            assert offer["session_id"] == session and offer["sdp"]["type"] == "offer"
            assert offer["sdp"]["sdp"].startswith("v=0")

            await app.send({"type": "webrtc_answer", "session_id": session,
                            "sdp": {"type": "answer", "sdp": "v=0\r\no=app 1 1 IN IP4 127.0.0.1\r\n"}})
            answer = await next_message("answer")
            assert answer["sdp"]["type"] == "answer" and answer["sdp"]["sdp"].startswith("v=0")

            candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
                         "sdpMid": "0", "sdpMLineIndex": 0}
            assert client.send_webrtc_ice(session, candidate)
            ice = await app.expect(lambda m: m["type"] == "webrtc_ice" and m["candidate"] is not None)
            assert ice["candidate"]["candidate"] == candidate["candidate"]
            assert ice["candidate"]["sdpMLineIndex"] == 0
            assert client.send_webrtc_ice(session, None)
            await app.expect(lambda m: m["type"] == "webrtc_ice" and m["candidate"] is None)

            await app.send({"type": "webrtc_ice", "session_id": session, "candidate": candidate})
            got = await next_message("ice")
            assert got["candidate"]["candidate"] == candidate["candidate"]
            await app.send({"type": "webrtc_ice", "session_id": session, "candidate": None})
            got = await next_message("ice")
            assert got["candidate"] is None

            with pytest.raises(ValueError):
                client.send_webrtc_ice(session, {"sdpMid": "0"})  # no "candidate"
            with pytest.raises(ValueError):
                client.send_webrtc_stats(session, "connected")  # connected needs connection_type
            with pytest.raises(ValueError):
                client.send_webrtc_stats(session, "sideways", "host")
            assert client.send_webrtc_stats(session, "connected", "relay", 12.5)

            assert client.send_webrtc_close(session, "robot is docking")
            closed = await app.expect(lambda m: m["type"] == "webrtc_close")
            assert closed["session_id"] == session and closed["by"] == "robot"
            assert closed["reason"] == "robot is docking"

            # A second session, closed by the app this time.
            await app.send({"type": "webrtc_request", "device_id": "py-rtc", "id": "w2"})
            second = (await next_message("request"))["session_id"]
            assert second != session
            await app.send({"type": "webrtc_close", "session_id": second, "reason": "bye"})
            close = await next_message("close")
            assert close == {**close, "session_id": second, "by": "app", "reason": "bye"}
        assert threads and all(t == loop_thread for t in threads)
        await app.close()

    asyncio.run(main())


def test_turn_credentials_on_request(relayd_factory):
    relayd = relayd_factory(COTURN)
    owner = relayd.account()
    secret = owner.device("py-turn")

    async def main():
        async with relay_robot.Client(relayd.url, "py-turn", secret=secret) as client:
            await client.wait_connected(timeout=20)
            creds = await client.request_turn_credentials(timeout=20)
            assert creds["urls"][0] == "turn:127.0.0.1:3478?transport=udp"
            assert creds["username"].endswith(":py-turn")
            assert creds["credential"] and creds["expires_at"] > 0
            assert creds["ice_servers"]

    asyncio.run(main())


def test_turn_unavailable_is_relay_error(relayd_factory):
    relayd = relayd_factory({
        "RELAY_TURN_PROVIDER": "cloudflare",
        "RELAY_CF_TURN_KEY_ID": "key",
        "RELAY_CF_TURN_API_TOKEN": "token",
        "RELAY_CF_API_BASE": f"https://127.0.0.1:{free_port()}/v1",  # nothing listens there
    })
    owner = relayd.account()
    secret = owner.device("py-noturn")

    async def main():
        client = relay_robot.Client(relayd.url, "py-noturn", secret=secret)
        errors = []
        client.on_error(errors.append)
        with pytest.raises(relay_robot.RelayError) as offline:
            await client.request_turn_credentials(timeout=5)  # not started: not connected
        assert offline.value.code == "DEVICE_OFFLINE"
        async with client:
            await client.wait_connected(timeout=20)
            with pytest.raises(relay_robot.RelayError) as failed:
                await client.request_turn_credentials(timeout=60)
            assert failed.value.code == "TURN_UNAVAILABLE"
            assert failed.value.ref and failed.value.ref.startswith("py-")
        assert errors == []  # the error answered the call; on_error did not get it too

    asyncio.run(main())
