#!/usr/bin/env python3
"""Floods kgdboe's UDP port with malformed datagrams, fast.

Two ways to run:
  flood --port P --count N        junk from a fresh source port (a stranger to the module)
  relay --port P                  a transparent relay for a real debugger session: prints
                                  "listen PORT" (point the session there), forwards both ways,
                                  and on a stdin line "flood N running|stopped" sends N junk
                                  datagrams from its own upstream socket, i.e. from the attached
                                  peer's address and port as the module sees them; answers
                                  "flooded N" when done. "stats" answers "stats up=N down=N
                                  send_errors=N threads_alive=N" (datagrams forwarded each way,
                                  and whether both forwarding threads still run). "quit" ends it.

Junk never carries a GDB packet with a right checksum, alone or run together with the next
datagram, so neither a stranger nor the peer can start a command by accident:
  - '$' only starts a packet whose checksum is wrong or not hex, or one longer than the stub's
    1024-byte buffer; random bytes never hold '$' or '#';
  - from the peer every '$' is followed by 'j' (no such command): if a truncated packet runs
    into the next one and their checksum happens to match, the stub only answers "unknown";
  - from the peer while the kernel runs there is no 0x03 (that would be a real break-in).
"""
import argparse
import random
import socket
import sys
import threading
import time

PRINTABLE = bytes(c for c in range(0x20, 0x7F) if c not in b"$#}*")


class Junk:
    """Makes junk datagrams, round-robin over the kinds allowed for one sender."""

    def __init__(self, seed: int, peer: bool, running: bool):
        self.rng = random.Random(seed)
        self.first = b"j" if peer else None
        kinds = [self.empty, self.one_byte, self.binary, self.bad_checksum, self.non_hex_checksum,
                 self.truncated, self.over_long, self.plus_storm, self.minus_storm]
        if not (peer and running):
            kinds.append(self.break_storm)
        self.kinds = kinds
        self.counts = {k.__name__: 0 for k in kinds + [self.oversized]}
        self.n = 0

    def next(self) -> bytes:
        kind = self.oversized if self.n % 100 == 99 else self.kinds[self.n % len(self.kinds)]
        self.n += 1
        self.counts[kind.__name__] += 1
        return kind()

    def _random(self, length: int) -> bytes:
        data = bytearray(self.rng.randbytes(length))
        for i, b in enumerate(data):
            if b in (0x23, 0x24) or (b == 0x03 and self.first):
                data[i] = 0x20
        return bytes(data)

    def _body(self, length: int) -> bytes:
        body = bytes(self.rng.choice(PRINTABLE) for _ in range(length))
        return (self.first + body[1:]) if self.first and body else body

    def _packet(self, body: bytes) -> bytes:
        right = sum(body) & 0xFF
        return b"$" + body + b"#%02x" % ((right + 1 + self.rng.randrange(255)) & 0xFF)

    def empty(self): return b""
    def one_byte(self): return self._random(1)
    def binary(self): return self._random(self.rng.randint(2, 1400))
    def oversized(self): return self._random(self.rng.randint(1473, 9000))
    def bad_checksum(self): return self._packet(self._body(self.rng.randint(1, 200)))
    def non_hex_checksum(self): return b"$" + self._body(self.rng.randint(1, 40)) + b"#zz"
    def truncated(self): return b"$" + self._body(self.rng.randint(1, 100))
    def over_long(self): return self._packet(self._body(self.rng.randint(1100, 1400)))
    def plus_storm(self): return b"+" * self.rng.randint(1, 64)
    def minus_storm(self): return b"-" * self.rng.randint(1, 64)
    def break_storm(self): return b"\x03" * self.rng.randint(1, 64)


def send_junk(sock: socket.socket, target, junk: Junk, count: int, rate: int) -> int:
    """Sends COUNT datagrams at about RATE per second; returns how many the host refused."""
    refused = 0
    start = time.perf_counter()
    for i in range(count):
        try:
            sock.sendto(junk.next(), target)
        except OSError:
            refused += 1  # ENOBUFS / ECONNREFUSED from an earlier ICMP: the datagram is junk anyway
        if rate and i % 200 == 199:
            ahead = (i + 1) / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    return refused


def flood(a) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    junk = Junk(a.seed, peer=False, running=True)
    t0 = time.perf_counter()
    refused = send_junk(sock, ("127.0.0.1", a.port), junk, a.count, a.rate)
    seconds = time.perf_counter() - t0
    print(f"sent {a.count} datagrams in {seconds:.1f} s ({refused} refused by the host) kinds: "
          + " ".join(f"{k}={v}" for k, v in junk.counts.items()), flush=True)
    return 0


def relay(a) -> int:
    target = ("127.0.0.1", a.port)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    client = []
    counts = {"up": 0, "down": 0, "send_errors": 0}

    # A datagram whose send fails is dropped, as the network would, and relaying goes on: an
    # uncaught error would end a forwarding thread and look exactly like a stub that went silent.
    def forward(sock, data, to, way):
        try:
            sock.sendto(data, to)
            counts[way] += 1
        except OSError:
            counts["send_errors"] += 1

    def client_to_stub():
        while True:
            data, addr = front.recvfrom(65536)
            if not client or client[0] != addr:
                client[:] = [addr]
            forward(back, data, target, "up")

    def stub_to_client():
        while True:
            try:
                data = back.recv(65536)
            except OSError:
                continue
            if client:
                forward(front, data, client[0], "down")

    threads = [threading.Thread(target=fn, daemon=True) for fn in (client_to_stub, stub_to_client)]
    for t in threads:
        t.start()
    print(f"listen {front.getsockname()[1]} upstream {back.getsockname()[1]}", flush=True)
    seed = a.seed
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] == "flood" and len(words) == 3 and words[2] in ("running", "stopped"):
            junk = Junk(seed, peer=True, running=words[2] == "running")
            seed += 1
            t0 = time.perf_counter()
            refused = send_junk(back, target, junk, int(words[1]), a.rate)
            print(f"flooded {words[1]} in {time.perf_counter() - t0:.1f} s ({refused} refused)", flush=True)
        elif words[0] == "stats":
            alive = sum(t.is_alive() for t in threads)
            print(f"stats up={counts['up']} down={counts['down']} send_errors={counts['send_errors']} "
                  f"threads_alive={alive}", flush=True)
        else:
            print(f"error: unknown command '{line.strip()}'", flush=True)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("flood", "relay"))
    p.add_argument("--port", type=int, required=True, help="kgdboe's UDP port on 127.0.0.1")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--rate", type=int, default=10000, help="datagrams per second (0: as fast as possible)")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    return flood(a) if a.mode == "flood" else relay(a)


if __name__ == "__main__":
    sys.exit(main())
