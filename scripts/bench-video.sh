#!/usr/bin/env bash
# Live video through TURN on this host, measured (docs/benchmarks.md, "Video over TURN (Python
# robot)"): coturn and relayd on 127.0.0.1 (the harness of tests/webrtc_py), robot.py streaming
# its test pattern, viewer.py watching with relay-only ICE on both ends. Prints viewer.py's
# summary for each run: time to first frame, frames per second, glass-to-glass latency
# (p50/p95/max) and the largest gap between frames.
#
#   scripts/bench-video.sh                        # 640x480 at 30 fps, 30 s, 3 runs
#   SIZES="320x240 640x480 1280x720" RUNS=1 DURATION=20 scripts/bench-video.sh
#
# Settings: SIZES (640x480), FPS (30), DURATION (seconds per run, 30), RUNS (3), BUILD_DIR (build;
# needs relayd and the relay_robot module built there).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
export RELAY_TEST_RELAYD=$build/relayd/relayd
export RELAY_PYTHON_ROBOT_DIR=$root/examples/python-robot
export PYTHONPATH=$build/python:$root/examples/python-robot:$root/tests/webrtc_py
export PYTHONDONTWRITEBYTECODE=1
for f in "$RELAY_TEST_RELAYD" "$build/python/relay_robot"; do
  [ -e "$f" ] || { echo "bench-video: $f missing: cmake --build $build --target relayd relay_robot_native" >&2; exit 1; }
done

exec /usr/bin/python3 - "${SIZES:-640x480}" "${FPS:-30}" "${DURATION:-30}" "${RUNS:-3}" <<'PYTHON'
import json, secrets, sys, tempfile
from pathlib import Path
import harness

sizes, fps, duration, runs = sys.argv[1].split(), sys.argv[2], sys.argv[3], int(sys.argv[4])
with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
    directory = Path(tmp)
    secret = secrets.token_hex(16)
    turn = harness.Coturn(directory / "turn", secret)
    relay = harness.Relayd(directory / "relayd", {
        "RELAY_TURN_PROVIDER": "coturn", "RELAY_TURN_SECRET": secret,
        "RELAY_TURN_URLS": f"turn:127.0.0.1:{turn.port}?transport=udp"})
    try:
        account = harness.Account(relay)
        for size in sizes:
            width, height = size.split("x")
            robot = harness.start_robot(directory, relay, account, "--ice-transport-policy", "relay",
                                        "--width", width, "--height", height, "--fps", fps, name=f"robot-{size}")
            try:
                harness.eventually(lambda: harness.robot_online(relay, account), 30, "robot.py online")
                for run in range(runs):
                    status, lines, err = harness.run_viewer(directory, relay, account, "--relay-only",
                                                            "--duration", duration, timeout=float(duration) + 60,
                                                            name=f"viewer-{size}-{run}")
                    summary = lines[-1] if lines else {"error": err[-500:]}
                    print(json.dumps({"size": size, "fps_asked": float(fps), "run": run + 1, **summary}), flush=True)
            finally:
                robot.stop()
    finally:
        relay.stop()
        turn.stop()
PYTHON
