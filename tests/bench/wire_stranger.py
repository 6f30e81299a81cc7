#!/usr/bin/env python3
"""A stranger to a keyed kgdboe module (issue 13): records and replays a real v2 session, and
floods the port with GDB packets that a raw-mode module would obey.

  relay --port P --record FILE   a transparent UDP relay in front of 127.0.0.1:P; prints
                                 "listen PORT" (point the v2 client there) and writes every
                                 client-to-module datagram to FILE (hex, one a line) until stdin
                                 says "quit" (or closes); then prints "recorded N".
  replay --port P --file FILE [--rounds R]
                                 sends the recorded datagrams again, in order, from a fresh
                                 source port; prints "replayed N".
  flood --port P --count N       N datagrams with valid checksums, round robin: $?#3f, $g#67,
                                 $M0,1:00#.., $D#44, 0x03, +$?#3f, $qSupported#37; prints "sent N".
  fastread --port P --count N    N v2 fast-path READ datagrams (channel 2) that are not sealed
                                 under any key (for a raw module: must be ignored); prints "sent N".
"""
import argparse
import select
import socket
import struct
import sys
import time


def packet(body: bytes) -> bytes:
    return b"$" + body + b"#" + ("%02x" % (sum(body) & 0xFF)).encode()


STRANGER = [
    b"$?#3f",
    b"$g#67",
    packet(b"M0,1:00"),
    b"$D#44",
    b"\x03",
    b"+" + b"$?#3f",
    packet(b"qSupported"),
]


def relay(port: int, record: str) -> None:
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("127.0.0.1", 0))
    back.connect(("127.0.0.1", port))
    print("listen %d" % front.getsockname()[1], flush=True)
    client = None
    n = 0
    with open(record, "w") as out:
        while True:
            ready, _, _ = select.select([front, back, sys.stdin], [], [], 1.0)
            if front in ready:
                data, client = front.recvfrom(65536)
                back.send(data)
                out.write(data.hex() + "\n")
                n += 1
            if back in ready:
                data = back.recv(65536)
                if client:
                    front.sendto(data, client)
            if sys.stdin in ready:
                line = sys.stdin.readline()
                if not line or line.strip() == "quit":
                    break
    print("recorded %d" % n, flush=True)


def sender(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.connect(("127.0.0.1", port))
    return s


def send_paced(s: socket.socket, datagrams, rate: int) -> int:
    n = 0
    start = time.monotonic()
    for d in datagrams:
        try:
            s.send(d)
        except ConnectionRefusedError:
            pass
        n += 1
        if rate and n % 100 == 0:
            ahead = n / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    return n


def replay(port: int, file: str, rounds: int, rate: int) -> None:
    with open(file) as f:
        recorded = [bytes.fromhex(l.strip()) for l in f if l.strip()]
    n = send_paced(sender(port), (d for _ in range(rounds) for d in recorded), rate)
    print("replayed %d" % n, flush=True)


def flood(port: int, count: int, rate: int) -> None:
    n = send_paced(sender(port), (STRANGER[i % len(STRANGER)] for i in range(count)), rate)
    print("sent %d" % n, flush=True)


def fastread(port: int, count: int, rate: int, address: int) -> None:
    # The v2 header (docs/wire-v2.md): magic KW, version 2, channel 2 (memory), type 1 (READ),
    # flags 0, body length 12, session 1, packet number i, seq (tag) i, ack 0; body, zero tag.
    def one(i: int) -> bytes:
        body = struct.pack("<QI", address, 4096)
        return struct.pack("<2sBBBBHIIII", b"KW", 2, 2, 1, 0, len(body), 1, i, i, 0) + body + bytes(16)
    s = sender(port)
    n = send_paced(s, (one(i) for i in range(count)), rate)
    # Whatever comes back within 2 s (a module that served a read would answer).
    got = 0
    s.settimeout(0.2)
    end = time.monotonic() + 2
    while time.monotonic() < end:
        try:
            s.recv(65536)
            got += 1
        except (socket.timeout, ConnectionRefusedError):
            pass
    print("sent %d got %d" % (n, got), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["relay", "replay", "flood", "fastread"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--record")
    p.add_argument("--file")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--rate", type=int, default=5000, help="datagrams per second, 0 = as fast as possible")
    p.add_argument("--address", type=lambda s: int(s, 0), default=0xffffffff81000000)
    a = p.parse_args()
    if a.mode == "relay":
        relay(a.port, a.record)
    elif a.mode == "replay":
        replay(a.port, a.file, a.rounds, a.rate)
    elif a.mode == "flood":
        flood(a.port, a.count, a.rate)
    else:
        fastread(a.port, a.count, a.rate, a.address)


if __name__ == "__main__":
    main()
