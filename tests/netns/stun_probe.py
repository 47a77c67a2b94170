"""Asks STUN servers for this socket's public mapping; run inside a namespace by nat_test.py.

    stun_probe.py HOST:PORT [HOST:PORT ...]

Sends a Binding request (aioice's STUN codec) from ONE UDP socket to each server in turn and
prints one JSON line per server: {"server": "HOST:PORT", "mapped": "IP:PORT"}. A NAT with
endpoint-independent mapping shows the same mapped port for every server; a symmetric NAT shows
a new one per destination.
"""

import json
import socket
import sys

from aioice import stun


def binding(sock: socket.socket, server: tuple[str, int]) -> tuple[str, int]:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    wire = bytes(request)
    # Bounded: a few retransmissions (UDP may drop the first packet while ARP resolves).
    for _ in range(5):
        sock.sendto(wire, server)
        try:
            while True:
                data, _ = sock.recvfrom(2048)
                answer = stun.parse_message(data)
                if answer.transaction_id == request.transaction_id:
                    return answer.attributes["XOR-MAPPED-ADDRESS"]
        except socket.timeout:
            continue
    raise SystemExit(f"no STUN answer from {server[0]}:{server[1]}")


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))
    sock.settimeout(1.0)
    for arg in sys.argv[1:]:
        host, port = arg.rsplit(":", 1)
        mapped = binding(sock, (host, int(port)))
        print(json.dumps({"server": arg, "local_port": sock.getsockname()[1],
                          "mapped": f"{mapped[0]}:{mapped[1]}"}), flush=True)


if __name__ == "__main__":
    main()
