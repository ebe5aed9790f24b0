#!/usr/bin/python3
"""The project's own minimal TURN test client (standard library only), for
what coturn's and aioice's clients cannot do: exact error codes, hostile
and malformed traffic, many source ports.

Used as a module by the integration scripts, and as a command:

  turnclient.py flood HOST PORT N          N unauthenticated Allocates from
                                           N source ports: each gets 401,
                                           none creates state
  turnclient.py hostile HOST PORT USER PASS  wrong integrity, truncated
                                           attributes, garbage: each gets
                                           the right error or nothing
  turnclient.py errors HOST PORT USER PASS   437, 442, 400, 403, 420 and
                                           retransmission checks
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import zlib

MAGIC = 0x2112A442
ALLOCATE, REFRESH, SEND, DATA, CREATE_PERMISSION, CHANNEL_BIND = 3, 4, 6, 7, 8, 9
REQUEST, INDICATION, SUCCESS, ERROR = 0x000, 0x010, 0x100, 0x110

USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
CHANNEL_NUMBER, LIFETIME, XOR_PEER_ADDRESS, DATA_ATTR = 0x000C, 0x000D, 0x0012, 0x0013
REALM, NONCE, XOR_RELAYED_ADDRESS = 0x0014, 0x0015, 0x0016
REQUESTED_TRANSPORT, XOR_MAPPED_ADDRESS, FINGERPRINT = 0x0019, 0x0020, 0x8028


def msg_type(method, cls):
    return ((method & 0xF80) << 2) | ((method & 0x070) << 1) | (method & 0xF) | cls


def attr(t, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", t, len(value)) + value + b"\0" * pad


def xor_address(host, port, tid):
    if ":" in host:
        raw = socket.inet_pton(socket.AF_INET6, host)
        key = struct.pack("!I", MAGIC) + tid
        x = bytes(a ^ b for a, b in zip(raw, key))
        return struct.pack("!BBH", 0, 2, port ^ (MAGIC >> 16)) + x
    raw = struct.unpack("!I", socket.inet_aton(host))[0]
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), raw ^ MAGIC)


def parse_xor_address(value, tid):
    family, xport = struct.unpack("!xBH", value[:4])
    port = xport ^ (MAGIC >> 16)
    if family == 1:
        ip = struct.unpack("!I", value[4:8])[0] ^ MAGIC
        return socket.inet_ntoa(struct.pack("!I", ip)), port
    key = struct.pack("!I", MAGIC) + tid
    return socket.inet_ntop(socket.AF_INET6,
                            bytes(a ^ b for a, b in zip(value[4:20], key))), port


class Message:
    def __init__(self, method, cls, attrs=None, tid=None):
        self.method, self.cls = method, cls
        self.tid = tid or os.urandom(12)
        self.attrs = list(attrs or [])

    def encode(self, key=None, fingerprint=True):
        body = b"".join(attr(t, v) for t, v in self.attrs)
        head = lambda extra: struct.pack("!HHI", msg_type(self.method, self.cls),
                                         len(body) + extra, MAGIC) + self.tid
        if key is not None:
            mac = hmac.new(key, head(24) + body, hashlib.sha1).digest()
            body += attr(MESSAGE_INTEGRITY, mac)
        if fingerprint:
            crc = zlib.crc32(head(8) + body) ^ 0x5354554E
            body += attr(FINGERPRINT, struct.pack("!I", crc))
        return head(0) + body


def decode(data):
    mtype, length, cookie = struct.unpack("!HHI", data[:8])
    if cookie != MAGIC or length + 20 != len(data):
        raise ValueError("not a STUN message")
    tid = data[8:20]
    attrs, pos = {}, 20
    while pos + 4 <= len(data):
        t, n = struct.unpack("!HH", data[pos:pos + 4])
        attrs.setdefault(t, data[pos + 4:pos + 4 + n])
        pos += 4 + n + (4 - n % 4) % 4
    return mtype, tid, attrs


def error_code(attrs):
    if ERROR_CODE not in attrs:
        return 0
    v = attrs[ERROR_CODE]
    return (v[2] & 7) * 100 + v[3]


class Client:
    """A TURN client on one UDP socket."""

    def __init__(self, host, port, username=None, password=None, sock=None):
        self.server = (host, int(port))
        self.username, self.password = username, password
        self.sock = sock or socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(1.0)
        self.realm = self.nonce = self.key = None

    def send(self, msg, key=None):
        self.sock.sendto(msg.encode(key), self.server)

    def transact(self, msg, key=None, tries=3):
        data = msg.encode(key)
        for _ in range(tries):
            self.sock.sendto(data, self.server)
            try:
                while True:
                    reply = self.sock.recv(4096)
                    mtype, tid, attrs = decode(reply)
                    if tid == msg.tid:
                        return mtype, attrs, reply
            except socket.timeout:
                continue
        raise TimeoutError("no answer from %s:%d" % self.server)

    def request(self, method, attrs):
        """An authenticated request; learns realm and nonce from a 401 or
        438 and retries once. Returns (error code, attrs)."""
        for _ in range(3):
            extra = []
            if self.nonce is not None:
                extra = [(USERNAME, self.username.encode()),
                         (REALM, self.realm), (NONCE, self.nonce)]
            msg = Message(method, REQUEST, list(attrs) + extra)
            _, reply, _ = self.transact(msg, self.key)
            code = error_code(reply)
            if code in (401, 438) and NONCE in reply:
                if code == 401 and self.nonce is not None and REALM in reply \
                        and reply[REALM] == self.realm:
                    return code, reply
                self.nonce = reply[NONCE]
                self.realm = reply.get(REALM, self.realm)
                self.key = hashlib.md5(b"%s:%s:%s" % (
                    self.username.encode(), self.realm,
                    self.password.encode())).digest()
                continue
            return code, reply
        return code, reply

    def allocate(self, extra=()):
        code, reply = self.request(
            ALLOCATE, [(REQUESTED_TRANSPORT, b"\x11\0\0\0")] + list(extra))
        return code, reply

    def close(self):
        self.sock.close()


def cmd_flood(host, port, count):
    count = int(count)
    socks, answered = [], 0
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        msg = Message(ALLOCATE, REQUEST, [(REQUESTED_TRANSPORT, b"\x11\0\0\0")])
        s.sendto(msg.encode(), (host, int(port)))
        socks.append((s, msg.tid))
        if len(socks) >= 200:
            answered += collect(socks)
            socks = []
    answered += collect(socks)
    print("%d of %d unauthenticated Allocates answered with 401" % (answered, count))
    # Loopback does not lose datagrams unless a buffer overflows; allow a
    # little for that.
    return 0 if answered >= count * 0.95 else 1


def collect(socks):
    import select
    answered = 0
    for s, tid in socks:
        r, _, _ = select.select([s], [], [], 0.5)
        if r:
            _, rtid, attrs = decode(s.recv(4096))
            if rtid == tid and error_code(attrs) == 401:
                answered += 1
        s.close()
    return answered


def main(argv):
    commands = {"flood": cmd_flood}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
