"""A relay_robot client against a real relayd: connecting, events to an app, acknowledged
events, commands answered by plain and coroutine handlers, and every handler on the loop's
thread (never the SDK's I/O thread)."""
import asyncio
import threading

import relay_robot


def test_connect_events_and_acks(relayd):
    owner = relayd.account()
    secret = owner.device("py-events")

    async def main():
        loop_thread = threading.get_ident()
        app = await owner.app()
        client = relay_robot.Client(relayd.url, "py-events", secret=secret, acknowledged_events=True,
                                    capabilities={"camera": True}, firmware="1.2.3")
        threads = []
        acks = []
        connected = []

        @client.on_connected
        def on_connected(info):
            threads.append(threading.get_ident())
            connected.append(info)

        @client.on_event_ack
        async def on_ack(ack):  # a coroutine handler
            threads.append(threading.get_ident())
            acks.append(ack)

        async with client:
            info = await client.wait_connected(timeout=20)
            assert info["device_id"] == "py-events"
            assert info["connections"] == 1
            assert client.connected
            await app.expect(lambda m: m.get("event") == "robot_connected")

            client.send_event("battery", {"level": 0.5, "charging": False, "cells": [1, 2, 3]})
            client.send_event("ping")
            got = await app.expect(lambda m: m.get("event") == "battery")
            assert got["data"] == {"level": 0.5, "charging": False, "cells": [1, 2, 3]}
            assert got["device_id"] == "py-events"
            ping = await app.expect(lambda m: m.get("event") == "ping")

            assert await client.flush(timeout=20)
            # flush with acknowledged events returns once both acks arrived; their handlers are
            # queued on this loop before flush's result, so a yield lets them run.
            for _ in range(100):
                if len(acks) == 2:
                    break
                await asyncio.sleep(0.01)
            assert [a["seq"] for a in acks] == [got["seq"], ping["seq"]]
            assert all(a["ref"].endswith(("-1", "-2")) for a in acks)
            stats = client.stats()
            assert stats["events_acknowledged"] == 2 and stats["events_unacknowledged"] == 0
        assert not client.connected
        assert connected and threads and all(t == loop_thread for t in threads)
        await app.close()

    asyncio.run(main())


def test_commands(relayd):
    owner = relayd.account()
    secret = owner.device("py-cmd")

    async def main():
        loop_thread = threading.get_ident()
        app = await owner.app()
        client = relay_robot.Client(relayd.url, "py-cmd", secret=secret)
        threads = []

        @client.on_command
        async def command(cmd):
            threads.append(threading.get_ident())
            if cmd["command"] == "add":
                await asyncio.sleep(0)
                return {"sum": cmd["data"]["a"] + cmd["data"]["b"]}
            if cmd["command"] == "refuse":
                raise relay_robot.CommandError("BUSY", "docking", {"retry_in": 5})
            if cmd["command"] == "nothing":
                return None
            raise KeyError(cmd["command"])

        async with client:
            await client.wait_connected(timeout=20)

            async def call(command, data=None):
                cid = f"c{next(app.ids)}"
                message = {"type": "command", "device_id": "py-cmd", "id": cid, "command": command}
                if data is not None:
                    message["data"] = data
                await app.send(message)
                return await app.expect(lambda m: m["type"] == "command_result" and m.get("id") == cid)

            ok = await call("add", {"a": 2, "b": 3})
            assert ok["ok"] is True and ok["data"] == {"sum": 5}
            none = await call("nothing")
            assert none["ok"] is True and none.get("data") is None
            refused = await call("refuse")
            assert refused["ok"] is False
            assert refused["error"] == {"code": "BUSY", "message": "docking", "data": {"retry_in": 5}}
            crashed = await call("explode")
            assert crashed["ok"] is False and crashed["error"]["code"] == "INTERNAL"

            # Without a handler the C++ default answers.
            client.on_command(None)
            unknown = await call("add", {"a": 1, "b": 1})
            assert unknown["ok"] is False and unknown["error"]["code"] == "UNKNOWN_COMMAND"
        assert len(threads) == 4 and all(t == loop_thread for t in threads)
        await app.close()

    asyncio.run(main())


def test_hello_and_disconnect_handler(relayd):
    owner = relayd.account()
    secret = owner.device("py-hello")

    async def main():
        loop_thread = threading.get_ident()
        client = relay_robot.Client(relayd.url, "py-hello", secret=secret, capabilities={"arm": False})
        disconnects = []
        client.on_disconnected(lambda info: disconnects.append((threading.get_ident(), info)))
        await client.start()
        await client.wait_connected(timeout=20)
        client.hello({"arm": True, "camera": "rgb"}, firmware="2.0")
        assert await client.flush(timeout=20)
        loop = asyncio.get_running_loop()
        status, devices = await loop.run_in_executor(None, relayd.http, "GET", "/api/devices", None, owner.token)
        assert status == 200
        listed = devices if isinstance(devices, list) else devices.get("devices", [])
        me = next(d for d in listed if d["device_id"] == "py-hello")
        assert me["capabilities"] == {"arm": True, "camera": "rgb"}
        # The relay goes away: on_disconnected runs on the loop with the reason.
        await loop.run_in_executor(None, relayd.stop)
        for _ in range(2000):
            if disconnects:
                break
            await asyncio.sleep(0.01)
        assert disconnects, "no on_disconnected"
        thread, info = disconnects[0]
        assert thread == loop_thread
        assert info["was_connected"] and info["will_retry"]
        assert info["reason"] in ("relay_closed", "connection_lost")
        await client.stop()

    asyncio.run(main())
