"""The field's network in a box: network namespaces for the NAT tests (tests/netns/).

Five namespaces: relayd and coturn in "pub" (203.0.113.10, "the internet"), robot.py behind the
symmetric NAT "natr" (LAN 10.17.1.0/24, WAN 198.51.100.2), viewer.py behind "natv" (LAN
10.17.2.0/24, WAN 198.51.100.3). The diagram and why each piece is as it is: docs/webrtc.md,
"Tested behind NATs".

Every namespace and interface lives only inside namespaces this module creates (the host's own
network is never touched), so the addresses are fixed and ports inside them are always free.
Names carry the creating process's id and a random tag: parallel runs do not collide, and a
run that was killed (ctest's timeout sends SIGKILL) is cleaned up by the next one, which finds
its namespaces by the dead process id.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# The exit code ctest's SKIP_RETURN_CODE maps to "skipped" (tests/CMakeLists.txt).
SKIP = 77

PUBLIC_ADDRESS = "203.0.113.10"    # relayd and coturn: TEST-NET-3, documentation only
SECOND_PUBLIC_ADDRESS = "203.0.113.11"  # coturn listens here too: a second STUN destination
INTERNET_GATEWAY = "198.51.100.1"  # the pub namespace's address on the NATs' side: TEST-NET-2
ROBOT_NAT_WAN = "198.51.100.2"
VIEWER_NAT_WAN = "198.51.100.3"
ROBOT_LAN = ("10.17.1.1", "10.17.1.2")   # (router, robot)
VIEWER_LAN = ("10.17.2.1", "10.17.2.2")  # (router, viewer)

_PREFIX = "relaynet-"
_NAME = re.compile(r"^relaynet-(\d+)-[0-9a-f]+-")
_PR_SET_PDEATHSIG = 1


def _run(*argv: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True, input=input)


def _die_with_parent() -> None:
    # A process the test started must not outlive it, even when the test is SIGKILLed: the
    # kernel sends it SIGKILL when the test dies (kept across the exec of `ip netns exec`).
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def namespaces_supported() -> tuple[bool, str]:
    """Whether the kernel lets this process create a network namespace (and its answer if not)."""
    name = f"{_PREFIX}{os.getpid()}-{secrets.token_hex(3)}-probe"
    # The first `ip netns add` on a machine mounts /run/netns; entries starting together would
    # race on that mount, so the probe, which always comes first, goes one at a time.
    lock = os.open(os.path.join(tempfile.gettempdir(), "relay-netns.lock"), os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = _run("ip", "netns", "add", name, check=False)
    finally:
        os.close(lock)
    if r.returncode != 0:
        return False, f"cannot create a network namespace (CI runs the tests as root): {r.stderr.strip()}"
    _run("ip", "netns", "del", name, check=False)
    return True, ""


def _pids_in(ns: str) -> list[int]:
    r = _run("ip", "netns", "pids", ns, check=False)
    return [int(p) for p in r.stdout.split()]


def _delete_namespace(ns: str) -> None:
    # Processes keep a namespace alive after its name is gone: end ours first, by id.
    for pid in _pids_in(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _run("ip", "netns", "del", ns, check=False)


def remove_stale() -> None:
    """Removes the namespaces of earlier runs whose process is gone (killed by a timeout)."""
    for line in _run("ip", "netns", "list", check=False).stdout.splitlines():
        ns = line.split()[0] if line.split() else ""
        m = _NAME.match(ns)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # its run is still going
        except ProcessLookupError:
            _delete_namespace(ns)
        except PermissionError:
            continue


class Topology:
    """Five namespaces: robot and viewer behind their own symmetric NAT, relayd and coturn public.

    Use as a context manager; leaving it (normally, by an exception, or on SIGTERM, SIGINT or
    SIGHUP, which entering turns into SystemExit) stops every process started with `spawn` and
    deletes the namespaces.
    """

    def __init__(self, nat: str = "symmetric") -> None:
        """`nat`: "symmetric" (the field's, what the tests are about) or "cone" (a control: each
        NAT gives its host one public port for every destination and lets anyone in on it)."""
        if nat not in ("symmetric", "cone"):
            raise ValueError(f"unknown NAT kind {nat!r}")
        self.nat = nat
        tag = f"{_PREFIX}{os.getpid()}-{secrets.token_hex(3)}-"
        self.pub = tag + "pub"
        self.robot_nat = tag + "natr"
        self.viewer_nat = tag + "natv"
        self.robot = tag + "robot"
        self.viewer = tag + "viewer"
        self._namespaces: list[str] = []
        self._processes: list[subprocess.Popen] = []

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> "Topology":
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, _exit_on_signal)
        remove_stale()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for p in reversed(self._processes):
            stop(p)
        self._processes.clear()
        for ns in reversed(self._namespaces):
            _delete_namespace(ns)
        self._namespaces.clear()

    # -- running things inside -------------------------------------------------------------

    def ip(self, ns: str, *args: str) -> None:
        r = _run("ip", "-n", ns, *args, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"ip -n {ns} {' '.join(args)}: {r.stderr.strip()}")

    def run(self, ns: str, *argv: str, check: bool = True, timeout: float = 30,
            input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
        """Runs a command inside `ns` to completion (stdout and stderr captured as text)."""
        return subprocess.run(["ip", "netns", "exec", ns, *argv], check=check, capture_output=True,
                              text=True, timeout=timeout, input=input, env=env,
                              preexec_fn=_die_with_parent)

    def spawn(self, ns: str, argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
        """Starts a process inside `ns`, its output (stdout and stderr) into `log`; stopped by close()."""
        with open(log, "wb") as out:
            p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
        self._processes.append(p)
        return p

    # -- construction ----------------------------------------------------------------------

    def _add(self, ns: str) -> None:
        r = _run("ip", "netns", "add", ns, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"ip netns add {ns}: {r.stderr.strip()}")
        self._namespaces.append(ns)
        self.ip(ns, "link", "set", "lo", "up")

    def _veth(self, a: str, a_name: str, b: str, b_name: str) -> None:
        # Created inside `a` and its peer moved straight into `b`: the host never sees either end.
        self.ip(a, "link", "add", a_name, "type", "veth", "peer", "name", b_name, "netns", b)
        self.ip(a, "link", "set", a_name, "up")
        self.ip(b, "link", "set", b_name, "up")

    def _build(self) -> None:
        for ns in (self.pub, self.robot_nat, self.viewer_nat, self.robot, self.viewer):
            self._add(ns)

        # The public side: one bridge that both NATs' WAN ports plug into ("the internet"), and
        # the servers' addresses on it. The pub namespace does not forward (a new namespace's
        # default) and knows no route into 10.0.0.0/8: the LANs meet nowhere but here, as
        # NAT'ed public addresses.
        self.ip(self.pub, "link", "add", "br0", "type", "bridge")
        self.ip(self.pub, "link", "set", "br0", "up")
        self.ip(self.pub, "addr", "add", f"{INTERNET_GATEWAY}/24", "dev", "br0")
        self.ip(self.pub, "addr", "add", f"{PUBLIC_ADDRESS}/24", "dev", "br0")
        self.ip(self.pub, "addr", "add", f"{SECOND_PUBLIC_ADDRESS}/24", "dev", "br0")

        for nat, wan, lan, host, nat_ns in (
                ("natr", ROBOT_NAT_WAN, ROBOT_LAN, self.robot, self.robot_nat),
                ("natv", VIEWER_NAT_WAN, VIEWER_LAN, self.viewer, self.viewer_nat)):
            self._veth(nat_ns, "wan", self.pub, nat)
            self.ip(self.pub, "link", "set", nat, "master", "br0")
            self.ip(nat_ns, "addr", "add", f"{wan}/24", "dev", "wan")
            self.ip(nat_ns, "route", "add", "default", "via", INTERNET_GATEWAY)
            self._veth(nat_ns, "lan", host, "eth0")
            self.ip(nat_ns, "addr", "add", f"{lan[0]}/24", "dev", "lan")
            self.ip(host, "addr", "add", f"{lan[1]}/24", "dev", "eth0")
            self.ip(host, "route", "add", "default", "via", lan[0])
            if self.nat == "symmetric":
                self._make_symmetric_nat(nat_ns)
            else:
                self._make_cone_nat(nat_ns, wan, lan[1])

    def _make_symmetric_nat(self, ns: str) -> None:
        # A symmetric NAT, as carrier-grade and many mobile NATs are: every new (source,
        # destination) flow gets its own random public port (endpoint-dependent mapping). Plain
        # `masquerade` keeps the LAN socket's port whenever it is free on the WAN side, so the
        # port a STUN server reports is also the one a peer sees, and hole punching may get
        # through (a port-restricted cone); `fully-random` picks a new port for each flow, which
        # makes the server-reflexive candidate useless to the other peer and leaves TURN as the
        # only way. Inbound, only the replies of flows the LAN opened are let in (conntrack).
        rules = """
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" masquerade fully-random
    }
}
table ip filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        iifname "lan" oifname "wan" accept
        iifname "wan" oifname "lan" ct state established,related accept
    }
}
"""
        self._route_with(ns, rules)

    def _make_cone_nat(self, ns: str, wan: str, host: str) -> None:
        # The control's NAT, a full cone: the host's source port is kept (one public port per
        # socket, whatever the destination: endpoint-independent mapping) and any UDP arriving
        # on the WAN side goes to the host (endpoint-independent filtering). STUN then tells
        # each peer the address the other can reach it on.
        rules = f"""
table ip nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" snat to {wan}
    }}
    chain prerouting {{
        type nat hook prerouting priority dstnat; policy accept;
        iifname "wan" udp dport 1024-65535 dnat to {host}
    }}
}}
table ip filter {{
    chain forward {{
        type filter hook forward priority filter; policy drop;
        iifname "lan" oifname "wan" accept
        iifname "wan" oifname "lan" ct state established,related accept
        iifname "wan" oifname "lan" ct status dnat accept
    }}
}}
"""
        self._route_with(ns, rules)

    def _route_with(self, ns: str, rules: str) -> None:
        """Loads the router's nftables rules and turns forwarding on."""
        r = self.run(ns, "nft", "-f", "-", input=rules, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"nft in {ns}: {r.stderr.strip()}")
        # /proc/sys/net is the namespace's own (sysctl's procps may be missing in CI images).
        self.run(ns, "tee", "/proc/sys/net/ipv4/ip_forward", input="1\n")


def _exit_on_signal(signum, frame) -> None:
    # Turned into an exception so that every `with` block and `finally` cleans up.
    raise SystemExit(128 + signum)


def stop(p: subprocess.Popen, grace: float = 5.0) -> int | None:
    """Stops one process the test started: SIGTERM, then SIGKILL after `grace` seconds."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def skip_unless_supported() -> None:
    """Exits with SKIP when the kernel refuses namespaces; a missing tool is a failure instead."""
    for program, package in (("ip", "iproute2"), ("nft", "nftables")):
        if not shutil.which(program):
            print(f"FAILED: {program} not found: install {package} (scripts/dev.sh test does)", file=sys.stderr)
            sys.exit(1)
    ok, why = namespaces_supported()
    if not ok:
        print(f"SKIP: {why}", file=sys.stderr)
        sys.exit(SKIP)
