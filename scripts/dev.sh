#!/usr/bin/env bash
# The project's two entry points on a fresh Debian 12 machine (run as root or with sudo):
#   scripts/dev.sh serve   install what is missing, build, start relayd on 127.0.0.1:8000
#   scripts/dev.sh test    install what is missing, build, run the whole test suite
# Everything the build and the tests need is installed here, from Debian's packages.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${RELAY_BUILD_DIR:-$here/build}
jobs=${RELAY_JOBS:-$(nproc)}

build_packages=(build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev libfmt-dev doctest-dev libsqlite3-dev libpq-dev
  libhiredis-dev)
# Tests also use clang (libFuzzer), coturn's turnserver, openssl and curl; the deployment tests
# (tests/ops) use nginx, systemd-analyze (systemd), jq and bash as docs/deploy.md does; the
# PostgreSQL store is tested against a real PostgreSQL 15 server (postgresql), run as its user;
# several nodes on Redis against a real redis-server (redis-server); the NAT tests (tests/netns)
# build network namespaces with ip (iproute2) and their symmetric NATs with nft (nftables).
test_packages=(clang libclang-rt-14-dev coturn openssl curl nginx systemd jq bash postgresql redis-server
  iproute2 nftables)
# The Python robot (examples/python-robot) that the console's "Add a robot" tells a person to
# start for video: its binding relay_robot (RELAY_PYTHON) builds with pybind11 against Debian's
# python3 headers; aiortc for WebRTC, PyAV and NumPy for the video and its test pattern. `serve`
# installs them too, so the console's command works after the quick start's first command.
robot_packages=(pybind11-dev python3-dev python3-aiortc python3-av python3-numpy)
# tests/python runs the binding with pytest; the viewer (tests/webrtc_py) uses websockets.
test_packages+=(python3-pytest python3-websockets)
# The web console's tests (tests/browser) drive Debian's Chromium from Node with playwright-core
# (from npm, pinned by tests/browser/package-lock.json; it downloads no browser).
test_packages+=(chromium)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Node and npm: the machine's own when it has them (nodejs from NodeSource ships npm inside),
# else Debian's.
install_node() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  install_missing nodejs npm
}

# tests/browser's npm packages, installed again when its lock file changes.
install_browser_test_modules() {
  local dir=$here/tests/browser
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "==> npm ci in tests/browser"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

configure_and_build() {
  if [ ! -f "$build_dir/build.ninja" ]; then
    cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  fi
  cmake --build "$build_dir" --parallel "$jobs"
}

case "${1:-}" in
  serve)
    shift
    install_missing "${build_packages[@]}" "${robot_packages[@]}"
    configure_and_build
    export RELAY_HOST=${RELAY_HOST:-127.0.0.1}
    export RELAY_PORT=${RELAY_PORT:-8000}
    export RELAY_DATABASE=${RELAY_DATABASE:-$here/var/relay.db}
    export RELAY_DEV=${RELAY_DEV:-true}
    mkdir -p "$(dirname "$RELAY_DATABASE")"
    echo "==> starting relayd on http://$RELAY_HOST:$RELAY_PORT (database $RELAY_DATABASE, dev mode)"
    exec "$build_dir/relayd/relayd" serve "$@"
    ;;
  test)
    shift
    install_missing "${build_packages[@]}" "${robot_packages[@]}" "${test_packages[@]}"
    install_node
    install_browser_test_modules
    configure_and_build
    cd "$build_dir"
    # One ctest entry per test case (cmake/relay_doctest.cmake): they run on every core.
    exec ctest --output-on-failure --timeout 900 --parallel "$jobs" "$@"
    ;;
  *)
    echo "usage: scripts/dev.sh serve [relayd flags…] | test [ctest flags…]" >&2
    exit 2
    ;;
esac
