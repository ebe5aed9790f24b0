#!/usr/bin/python3
"""A tiny STUN prober for the integration tests (standard library only).

  stunprobe.py wait HOST PORT         Binding requests until one is answered
  stunprobe.py sizes HOST PORT        Binding requests of several sizes: no
                                      response larger than its request,
                                      unless the request is a bare header
  stunprobe.py garbage HOST PORT N    N hostile datagrams, none answered
  stunprobe.py prompt HOST PORT N S   N Binding requests 50 ms apart, each
                                      answered within S seconds
"""
import os
import random
import socket
import struct
import sys
import time

MAGIC = 0x2112A442


def binding(extra=b""):
    tid = os.urandom(12)
    return struct.pack("!HHI", 0x0001, len(extra), MAGIC) + tid + extra, tid


def software_attr(text):
    value = text.encode()
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", 0x8022, len(value)) + value + b"\0" * pad


def ask(sock, msg, timeout=0.5):
    sock.settimeout(timeout)
    sock.send(msg)
    try:
        return sock.recv(4096)
    except socket.timeout:
        return None


def connect(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect((host, int(port)))
    return sock


def cmd_wait(host, port):
    sock = connect(host, port)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        msg, _ = binding()
        try:
            if ask(sock, msg, 0.2):
                return 0
        except ConnectionRefusedError:
            time.sleep(0.1)
    return 1


def cmd_sizes(host, port):
    sock = connect(host, port)
    bare_reply = None
    for size in (0, 8, 16, 24, 32, 64, 128):
        extra = software_attr("x" * (size - 4)) if size >= 8 else b""
        msg, tid = binding(extra)
        reply = ask(sock, msg)
        if reply is None:
            print("no answer to a %d-byte request" % len(msg))
            return 1
        if reply[8:20] != tid:
            print("wrong transaction id")
            return 1
        if not extra:
            bare_reply = len(reply)
        elif len(reply) > max(len(msg), bare_reply):
            print("%d-byte reply to a %d-byte request" % (len(reply), len(msg)))
            return 1
    print("bare request answered with %d bytes" % bare_reply)
    return 0


def hostile(rng):
    kind = rng.randrange(6)
    if kind == 0:  # random bytes
        return os.urandom(rng.randrange(1, 600))
    if kind == 1:  # a header whose length runs past the datagram
        return struct.pack("!HHI", 0x0001, 400, MAGIC) + os.urandom(12)
    if kind == 2:  # an attribute that runs past the end
        return struct.pack("!HHI", 0x0001, 8, MAGIC) + os.urandom(12) + \
            struct.pack("!HH", 0x0006, 200) + b"abcd"
    if kind == 3:  # a bad fingerprint
        msg, _ = binding(struct.pack("!HHI", 0x8028, 4, 0xDEADBEEF))
        return msg
    if kind == 4:  # wrong magic cookie
        return struct.pack("!HHI", 0x0001, 0, 0x12345678) + os.urandom(12)
    # a success response, which a server never answers
    return struct.pack("!HHI", 0x0101, 0, MAGIC) + os.urandom(12)


def cmd_garbage(host, port, count):
    sock = connect(host, port)
    sock.setblocking(False)
    rng = random.Random(1)
    for _ in range(int(count)):
        sock.send(hostile(rng))
    time.sleep(0.3)
    try:
        data = sock.recv(4096)
        print("answered a hostile datagram with %d bytes" % len(data))
        return 1
    except BlockingIOError:
        return 0


def cmd_prompt(host, port, count, seconds):
    sock = connect(host, port)
    worst, missed = 0.0, 0
    for _ in range(int(count)):
        msg, tid = binding()
        start = time.monotonic()
        answer = ask(sock, msg, float(seconds))
        if answer is None or answer[8:20] != tid:
            missed += 1
        else:
            worst = max(worst, time.monotonic() - start)
        time.sleep(0.05)
    print("%d of %s Binding requests answered within %s s, the slowest in "
          "%.1f ms" % (int(count) - missed, count, seconds, worst * 1000))
    return 1 if missed else 0


def main(argv):
    commands = {"wait": cmd_wait, "sizes": cmd_sizes, "garbage": cmd_garbage,
                "prompt": cmd_prompt}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
