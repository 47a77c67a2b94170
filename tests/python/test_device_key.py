"""A robot with an Ed25519 device key (relay v1.1, key_file) connects through relay_robot: the
relay holds only the public key; a key the relay does not know is refused (auth_failed)."""
import asyncio
import subprocess

import relay_robot


def make_key(path):
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(path)], check=True,
                   capture_output=True)
    return subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout"], check=True, capture_output=True,
                          text=True).stdout


def test_key_file_robot_connects(relayd, tmp_path):
    owner = relayd.account()
    public_pem = make_key(tmp_path / "robot.pem")
    make_key(tmp_path / "other.pem")
    status, body = relayd.http("POST", "/api/devices",
                               {"device_id": "py-keyed", "name": "py-keyed", "public_key": public_pem}, owner.token)
    assert status == 201, body
    assert body["key_type"] == "ed25519" and "device_secret" not in body

    async def main():
        app = await owner.app()
        async with relay_robot.Client(relayd.url, "py-keyed", key_file=str(tmp_path / "robot.pem")) as client:
            info = await client.wait_connected(timeout=20)
            assert info["device_id"] == "py-keyed"
            client.send_event("signed_in", {"by": "key"})
            got = await app.expect(lambda m: m.get("event") == "signed_in")
            assert got["data"] == {"by": "key"}

        wrong = relay_robot.Client(relayd.url, "py-keyed", key_file=str(tmp_path / "other.pem"))
        failures = asyncio.Queue()
        wrong.on_disconnected(failures.put_nowait)
        async with wrong:
            info = await asyncio.wait_for(failures.get(), 20)
            assert info["reason"] == "auth_failed" and not info["was_connected"]
            assert not wrong.connected
        await app.close()

    asyncio.run(main())
