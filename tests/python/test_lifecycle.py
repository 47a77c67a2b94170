"""relay_robot's life: reconnecting after relayd restarts with the outbox delivered, stop() with
work pending, a client collected without stop(), and a loop that closes under a running client."""
import asyncio
import gc
import os
import threading

import pytest

import relay_robot


def native_threads() -> int:
    """Threads of this process, the SDK's C++ I/O thread included (threading sees only Python's)."""
    return len(os.listdir("/proc/self/task"))


def test_reconnect_delivers_outbox(relayd):
    owner = relayd.account()
    secret = owner.device("py-outage")

    async def main():
        loop = asyncio.get_running_loop()
        client = relay_robot.Client(relayd.url, "py-outage", secret=secret,
                                    reconnect_initial=0.05, reconnect_max=0.2)
        connections: asyncio.Queue = asyncio.Queue()
        client.on_connected(connections.put_nowait)
        async with client:
            first = await asyncio.wait_for(connections.get(), 20)
            assert first["connections"] == 1
            await loop.run_in_executor(None, relayd.stop)
            # Events sent while the relay is gone wait in the outbox, in order.
            for i in range(3):
                client.send_event("during_outage", {"i": i})
            assert client.stats()["outbox_size"] == 3
            await loop.run_in_executor(None, relayd.start)
            second = await asyncio.wait_for(connections.get(), 30)
            assert second["connections"] == 2
            assert await client.flush(timeout=20)
            assert client.stats()["outbox_size"] == 0
            # An app reads them from the restarted relay's history.
            app = await owner.app()
            await app.send({"type": "resume", "device_id": "py-outage", "after_seq": 0})
            got = []
            while True:
                m = await app.expect(lambda m: m["type"] == "resumed" or m.get("event") == "during_outage")
                if m["type"] == "resumed":
                    break
                got.append(m["data"]["i"])
            assert got == [0, 1, 2]
            await app.close()

    asyncio.run(main())


def test_stop_with_pending_work(relayd):
    owner = relayd.account()
    secret = owner.device("py-pending")

    async def main():
        loop = asyncio.get_running_loop()
        app = await owner.app()
        client = relay_robot.Client(relayd.url, "py-pending", secret=secret, acknowledged_events=True)
        never = loop.create_future()
        started = asyncio.Event()

        @client.on_command
        async def slow(cmd):
            started.set()
            await never  # a command still running when the client stops

        await client.start()
        await client.wait_connected(timeout=20)
        await app.send({"type": "command", "device_id": "py-pending", "id": "c1", "command": "slow"})
        await asyncio.wait_for(started.wait(), 20)
        await loop.run_in_executor(None, relayd.stop)
        for i in range(5):
            client.send_event("unsent", {"i": i})
        flush = asyncio.ensure_future(client.flush(timeout=60))  # cannot finish: relay is down
        await asyncio.wait_for(client.stop(), 60)
        assert not client.connected
        with pytest.raises(relay_robot.RelayError) as offline:
            await client.request_turn_credentials(timeout=5)
        assert offline.value.code == "DEVICE_OFFLINE"
        assert await asyncio.wait_for(flush, 90) is False
        await client.stop()  # idempotent
        with pytest.raises(RuntimeError):
            await client.start()
        never.cancel()
        await app.close()

    asyncio.run(main())


def test_collected_without_stop(relayd):
    owner = relayd.account()
    secret = owner.device("py-gc")

    async def main():
        gc.collect()  # clients of earlier tests, so only this one's threads come and go
        baseline = native_threads()
        app = await owner.app()
        client = relay_robot.Client(relayd.url, "py-gc", secret=secret)
        client.on_connected(lambda info: None)
        await client.start()
        await client.wait_connected(timeout=20)
        await app.expect(lambda m: m.get("event") == "robot_connected")
        assert native_threads() > baseline
        del client
        gc.collect()
        # The native destructor closed the connection and joined the I/O thread.
        assert native_threads() == baseline
        gone = await app.expect(lambda m: m.get("event") == "robot_disconnected")
        assert gone["device_id"] == "py-gc"
        await app.close()

    asyncio.run(main())


def test_loop_closed_under_running_client(relayd):
    owner = relayd.account()
    secret = owner.device("py-loop")
    holder = {}

    async def main():
        client = relay_robot.Client(relayd.url, "py-loop", secret=secret, reconnect_initial=0.05,
                                    reconnect_max=0.1)
        client.on_disconnected(lambda info: None)
        await client.start()
        await client.wait_connected(timeout=20)
        holder["client"] = client

    gc.collect()
    baseline = native_threads()
    asyncio.run(main())  # returns with the client still connected; its loop is now closed
    client = holder.pop("client")
    assert client.connected
    # Disconnections and reconnect attempts now have no loop to go to: dropped, no deadlock.
    relayd.stop()
    relayd.start()
    deadline = 200
    while not client.stats()["connections"] >= 2 and deadline:
        threading.Event().wait(0.05)
        deadline -= 1
    assert client.stats()["connections"] >= 2
    del client
    gc.collect()
    assert native_threads() <= baseline


def test_stop_from_a_handler(relayd):
    owner = relayd.account()
    secret = owner.device("py-selfstop")

    async def main():
        app = await owner.app()
        client = relay_robot.Client(relayd.url, "py-selfstop", secret=secret)
        stopped = asyncio.Event()

        @client.on_command
        async def shutdown(cmd):
            # stop() while this command is running on the loop and the I/O thread may be
            # handing over more messages: it must neither deadlock nor run anything afterwards.
            client.send_event("bye")
            await client.stop()
            stopped.set()
            return {"stopped": True}

        events_after_stop = []
        client.on_connected(lambda info: events_after_stop.append(info) if stopped.is_set() else None)
        await client.start()
        await client.wait_connected(timeout=20)
        await app.send({"type": "command", "device_id": "py-selfstop", "id": "c1", "command": "shutdown"})
        await asyncio.wait_for(stopped.wait(), 60)
        assert not client.connected
        await app.expect(lambda m: m.get("event") == "robot_disconnected")
        assert events_after_stop == []
        await app.close()

    asyncio.run(main())
