#!/usr/bin/env python3
"""Measures the UDP round trip to a KGDB stub (kgdboe) with the smallest possible client.

One request at a time, no library in between: the lower bound any one-request-at-a-time
client can reach over this path. Breaks in with '$?#3f' (which also clears every breakpoint:
run it before setting any), then times COUNT round trips of a tiny request ('qC') and of a
full-size memory read ('m ADDR,511'), and detaches with 'D'.

Prints one JSON object: the round trips in microseconds (median, min, p90) and retransmissions.
"""
import argparse
import json
import socket
import statistics
import sys
import time


def frame(body: str) -> bytes:
    return b"$%s#%02x" % (body.encode(), sum(body.encode()) & 0xFF)


class Stub:
    def __init__(self, port: int, timeout: float):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.connect(("127.0.0.1", port))
        self.timeout = timeout
        self.pending = b""
        self.retransmissions = 0

    def _reply(self, deadline: float):
        """The next complete '$...#xx' packet, or None at the deadline. Acks are skipped."""
        while True:
            start = self.pending.find(b"$")
            end = self.pending.find(b"#", start) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.pending) >= end + 3:
                body = self.pending[start + 1:end]
                self.pending = self.pending[end + 3:]
                return body.decode("latin-1")
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                self.pending += self.sock.recv(65536)
            except socket.timeout:
                return None

    def request(self, body: str, attempts: int = 20) -> str:
        """Sends until a reply arrives, acks it, returns its body."""
        packet = frame(body)
        for attempt in range(attempts):
            if attempt:
                self.retransmissions += 1
            self.sock.send(packet)
            reply = self._reply(time.perf_counter() + self.timeout)
            if reply is not None:
                self.sock.send(b"+")
                return reply
        raise TimeoutError(f"no reply to '{body}' after {attempts} attempts")

    def timed(self, body: str, count: int) -> list:
        samples = []
        for _ in range(count):
            t0 = time.perf_counter()
            self.request(body)
            samples.append((time.perf_counter() - t0) * 1e6)
        return samples


def summary(samples: list) -> dict:
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "median_us": round(statistics.median(ordered), 1),
        "min_us": round(ordered[0], 1),
        "p90_us": round(ordered[int(len(ordered) * 0.9) - 1], 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True, help="kgdboe's UDP port on 127.0.0.1")
    p.add_argument("--address", required=True, help="hex kernel address for the 'm' reads")
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--timeout", type=float, default=0.5, help="seconds before a retransmission")
    a = p.parse_args()

    stub = Stub(a.port, a.timeout)
    stop = stub.request("?", attempts=60)
    if not stop.startswith(("S", "T")):
        print(f"udp_probe: unexpected stop reply '{stop}'", file=sys.stderr)
        return 1
    address = a.address.lower().removeprefix("0x")
    small = stub.timed("qC", a.count)
    full = stub.timed(f"m{address},1ff", a.count)
    reply = stub.request(f"m{address},1ff")
    if len(reply) != 1022:
        print(f"udp_probe: 'm' read gave {len(reply)} hex digits, not 1022: {reply[:40]}", file=sys.stderr)
        return 1
    stub.request("D")
    print(json.dumps({"small": summary(small), "read511": summary(full),
                      "retransmissions": stub.retransmissions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
