#!/usr/bin/python3
"""robot-agent's --command-program for the console's command tests (live_command.test.mjs).

Reads the command as JSON on stdin and answers on stdout: `fail` fails on purpose with an error
object, `slow` answers after RELAY_TEST_SLOW_S seconds (default 4), anything else succeeds and
echoes the command's name and data back.
"""
import json
import os
import sys
import time

command = json.load(sys.stdin)
name = command.get("command")
if name == "fail":
    print(json.dumps({"ok": False, "error": {"code": "REFUSED", "message": "the robot refuses this on purpose"}}))
elif name == "slow":
    time.sleep(float(os.environ.get("RELAY_TEST_SLOW_S", "4")))
    print(json.dumps({"ok": True, "data": {"slow": True}}))
else:
    print(json.dumps({"ok": True, "data": {"command": name, "echo": command.get("data"), "from_user": command.get("from_user")}}))
