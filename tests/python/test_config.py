"""Configuration errors are ValueError, before anything connects; a client that was never
started or never stopped goes away cleanly."""
import gc
import os

import pytest

import relay_robot


@pytest.mark.parametrize("kwargs", [
    dict(url="ftp://relay.example.com", device_id="robot-1", secret="s"),
    dict(url="ws://127.0.0.1:1", device_id="", secret="s"),
    dict(url="ws://127.0.0.1:1", device_id="robot-1"),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret=""),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret="s", key_file="/k.pem"),
    dict(url="wss://127.0.0.1:1", device_id="robot-1", secret="s", ca_file="/nonexistent/ca.pem"),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret="s", outbox_capacity=0),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret="s", reconnect_initial=0),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret="s", reconnect_initial=5, reconnect_max=1),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret="s", capabilities={"camera": object()}),
    dict(url="ws://127.0.0.1:1", device_id="robot-1", secret="s", capabilities={1: "not a str key"}),
])
def test_bad_config_is_value_error(kwargs):
    with pytest.raises(ValueError):
        relay_robot.Client(**kwargs)


def test_good_config_and_refused_events():
    c = relay_robot.Client("ws://127.0.0.1:1", "robot-1", secret="s", capabilities={"camera": True})
    assert not c.connected
    with pytest.raises(relay_robot.RelayError) as bad_name:
        c.send_event("Not A Name")
    assert bad_name.value.code == "BAD_MESSAGE"
    with pytest.raises(relay_robot.RelayError) as too_large:
        c.send_event("big", "x" * (70 * 1024))
    assert too_large.value.code == "MESSAGE_TOO_LARGE"
    with pytest.raises(relay_robot.RelayError) as not_json:
        c.send_event("nan", float("nan"))
    assert not_json.value.code == "BAD_MESSAGE"
    c.send_event("ok", {"a": [1, 2.5, None, True, "x"], "big": 2**63})
    assert c.stats()["outbox_size"] == 1


def test_unstarted_client_is_collected():
    before = len(os.listdir("/proc/self/task"))
    c = relay_robot.Client("ws://127.0.0.1:1", "robot-1", secret="s")
    c.send_event("queued")
    del c
    gc.collect()
    assert len(os.listdir("/proc/self/task")) == before


def test_outbox_capacity_is_the_cpp_clients():
    c = relay_robot.Client("ws://127.0.0.1:1", "robot-1", secret="s", outbox_capacity=2)
    for i in range(5):
        c.send_event("tick", {"i": i})
    stats = c.stats()
    assert stats["outbox_size"] == 2 and stats["events_dropped"] == 3 and stats["events_queued"] == 5
