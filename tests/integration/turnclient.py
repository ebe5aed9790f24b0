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
  turnclient.py bindorder HOST PORT USER PASS [N]  N ChannelBinds, each
                                           with a burst from its peer: no
                                           ChannelData on the channel
                                           before the success
  turnclient.py blindauth HOST PORT USER REALM  a wrong password twice:
                                           with a made-up NONCE (as a
                                           forged source sends blind),
                                           then with the server's; 401s
  turnclient.py refresh-later HOST PORT USER PASS GO_FILE  Allocate,
                                           print "ready", Refresh once
                                           GO_FILE exists; prints its
                                           code (0: success)
  turnclient.py userhash HOST PORT USER PASS  Allocate, Refresh and delete
                                           as an RFC 8489 client naming
                                           the user by USERHASH (SHA-256
                                           keys and integrity); prints the
                                           first error code, or 0
"""
import base64
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
# RFC 8489 §14.4-14.6, §14.11-14.12
MESSAGE_INTEGRITY_SHA256, PASSWORD_ALGORITHM, USERHASH = 0x001C, 0x001D, 0x001E
PASSWORD_ALGORITHMS = 0x8002
ALGORITHM_SHA256 = b"\x00\x02\x00\x00"  # SHA-256, no parameters
NONCE_COOKIE = b"obMatJos2"
FEATURE_PASSWORD_ALGORITHMS, FEATURE_USERNAME_ANONYMITY = 0x000001, 0x000002


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

    def encode(self, key=None, fingerprint=True, sha256=False):
        body = b"".join(attr(t, v) for t, v in self.attrs)
        head = lambda extra: struct.pack("!HHI", msg_type(self.method, self.cls),
                                         len(body) + extra, MAGIC) + self.tid
        if key is not None and sha256:
            mac = hmac.new(key, head(36) + body, hashlib.sha256).digest()
            body += attr(MESSAGE_INTEGRITY_SHA256, mac)
        elif key is not None:
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


def nonce_features(nonce):
    """RFC 8489 §9.2: the security feature bits after the nonce cookie
    (24 bits, base64), or 0 for a nonce without the cookie."""
    if not nonce.startswith(NONCE_COOKIE) or len(nonce) < len(NONCE_COOKIE) + 4:
        return 0
    raw = base64.b64decode(nonce[len(NONCE_COOKIE):len(NONCE_COOKIE) + 4])
    return int.from_bytes(raw, "big")


def integrity_sha256_valid(data, key):
    """RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 of a message under key."""
    pos = 20
    while pos + 4 <= len(data):
        t, n = struct.unpack("!HH", data[pos:pos + 4])
        if t == MESSAGE_INTEGRITY_SHA256:
            head = data[:2] + struct.pack("!H", pos + 4 + n - 20) + data[4:20]
            mac = hmac.new(key, head + data[20:pos], hashlib.sha256).digest()
            return n == 32 and hmac.compare_digest(mac, data[pos + 4:pos + 4 + n])
        pos += 4 + n + (4 - n % 4) % 4
    return False


def error_code(attrs):
    if ERROR_CODE not in attrs:
        return 0
    v = attrs[ERROR_CODE]
    return (v[2] & 7) * 100 + v[3]


class Client:
    """A TURN client on one UDP socket. With userhash, an RFC 8489 client
    that keeps its name private: USERHASH instead of USERNAME (only when
    the server's nonce offers username anonymity), SHA-256 as the
    password algorithm and MESSAGE-INTEGRITY-SHA256."""

    def __init__(self, host, port, username=None, password=None, sock=None,
                 userhash=False):
        self.server = (host, int(port))
        self.username, self.password = username, password
        self.userhash = userhash
        self.sock = sock or socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(1.0)
        self.realm = self.nonce = self.key = None
        self.algorithms = None  # PASSWORD-ALGORITHMS of the last challenge
        self.last_reply = None  # the bytes of the last response

    def send(self, msg, key=None):
        self.sock.sendto(msg.encode(key, sha256=self.userhash), self.server)

    def credentials(self):
        """The attributes that name the user, the realm and the nonce."""
        if not self.userhash:
            return [(USERNAME, self.username.encode()),
                    (REALM, self.realm), (NONCE, self.nonce)]
        features = nonce_features(self.nonce)
        if not features & FEATURE_USERNAME_ANONYMITY:
            raise ValueError("the server's nonce does not offer USERHASH")
        if not features & FEATURE_PASSWORD_ALGORITHMS or self.algorithms is None:
            raise ValueError("the server offers no password algorithms")
        # §14.4: SHA-256 of the (OpaqueString-processed, here ASCII)
        # username, ":" and the realm.
        userhash = hashlib.sha256(b"%s:%s" % (self.username.encode(),
                                               self.realm)).digest()
        return [(USERHASH, userhash), (REALM, self.realm), (NONCE, self.nonce),
                (PASSWORD_ALGORITHMS, self.algorithms),
                (PASSWORD_ALGORITHM, ALGORITHM_SHA256)]

    def learn(self, reply):
        """Takes realm, nonce and algorithms from a 401 or 438."""
        self.nonce = reply[NONCE]
        self.realm = reply.get(REALM, self.realm)
        self.algorithms = reply.get(PASSWORD_ALGORITHMS, self.algorithms)
        digest = hashlib.sha256 if self.userhash else hashlib.md5
        self.key = digest(b"%s:%s:%s" % (
            self.username.encode(), self.realm,
            self.password.encode())).digest()

    def transact(self, msg, key=None, tries=3):
        data = msg.encode(key, sha256=self.userhash)
        for _ in range(tries):
            self.sock.sendto(data, self.server)
            try:
                while True:
                    reply = self.sock.recv(4096)
                    mtype, tid, attrs = decode(reply)
                    if tid == msg.tid:
                        self.last_reply = reply
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
                extra = self.credentials()
            msg = Message(method, REQUEST, list(attrs) + extra)
            _, reply, _ = self.transact(msg, self.key)
            code = error_code(reply)
            if code in (401, 438) and NONCE in reply:
                if code == 401 and self.nonce is not None and REALM in reply \
                        and reply[REALM] == self.realm:
                    return code, reply
                self.learn(reply)
                continue
            return code, reply
        return code, reply

    def signed(self, method, attrs):
        """A request with the credentials learnt so far, and its bytes, to
        send without waiting for what went before it to be answered."""
        msg = Message(method, REQUEST, list(attrs) + self.credentials())
        return msg, msg.encode(self.key, sha256=self.userhash)

    def answer(self, msg):
        """The error code (0: success) and attributes of the answer to
        msg, skipping anything else that arrives."""
        while True:
            reply = self.sock.recv(4096)
            if reply[0] & 0xC0 == 0x40:
                continue
            _, tid, attrs = decode(reply)
            if tid == msg.tid:
                return error_code(attrs), attrs

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


REQUESTED_ADDRESS_FAMILY, SOFTWARE_ATTR = 0x0017, 0x8022
UNKNOWN_ATTRIBUTES = 0x000A
UDP = (REQUESTED_TRANSPORT, b"\x11\0\0\0")


class Failure(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))
    print("ok: %s -> %r" % (what, got))


def peer_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(1.0)
    return s


def check_allocate_errors(host, port, user, password):
    c = Client(host, port, user, password)
    code, _ = c.request(ALLOCATE, [])
    expect("Allocate without REQUESTED-TRANSPORT", code, 400)
    code, _ = c.request(ALLOCATE, [(REQUESTED_TRANSPORT, b"\x06\0\0\0")])
    expect("Allocate for TCP", code, 442)
    code, _ = c.request(ALLOCATE, [UDP, (REQUESTED_ADDRESS_FAMILY, b"\x02\0\0\0")])
    expect("Allocate for IPv6 without an IPv6 relay", code, 440)
    code, reply = c.request(ALLOCATE, [UDP, (0x7777, b"abcd")])
    expect("Allocate with an unknown required attribute", code, 420)
    expect("420 lists it", reply.get(UNKNOWN_ATTRIBUTES), b"\x77\x77")
    wrong = Client(host, port, user, password + "x")
    code, reply = wrong.request(ALLOCATE, [UDP])
    expect("Allocate with a wrong password", code, 401)
    expect("401 carries no MESSAGE-INTEGRITY", MESSAGE_INTEGRITY in reply, False)
    # Integrity but no NONCE: 400 (RFC 8489 9.2.4).
    msg = Message(ALLOCATE, REQUEST, [UDP, (USERNAME, user.encode()),
                                      (REALM, c.realm)])
    _, reply, _ = c.transact(msg, c.key)
    expect("Allocate with integrity but no NONCE", error_code(reply), 400)
    wrong.close()
    c.close()


def check_allocation_lifecycle(host, port, user, password, other_user):
    c = Client(host, port, user, password)
    code, reply = c.request(ALLOCATE, [UDP])
    expect("Allocate", code, 0)
    for name, t in (("XOR-RELAYED-ADDRESS", XOR_RELAYED_ADDRESS),
                    ("XOR-MAPPED-ADDRESS", XOR_MAPPED_ADDRESS),
                    ("LIFETIME", LIFETIME), ("SOFTWARE", SOFTWARE_ATTR),
                    ("MESSAGE-INTEGRITY", MESSAGE_INTEGRITY),
                    ("FINGERPRINT", FINGERPRINT)):
        expect("success carries " + name, t in reply, True)
    relayed = reply[XOR_RELAYED_ADDRESS]
    # A retransmission (same transaction) gets the same success.
    last = Message(ALLOCATE, REQUEST, [UDP, (USERNAME, user.encode()),
                                       (REALM, c.realm), (NONCE, c.nonce)])
    _, first, _ = c.transact(last, c.key)
    expect("second Allocate on the 5-tuple", error_code(first), 437)
    code, reply = c.request(REFRESH, [(LIFETIME, struct.pack("!I", 600))])
    expect("Refresh", code, 0)
    # Another user on this 5-tuple: 441.
    other = Client(host, port, other_user[0], other_user[1], sock=c.sock)
    code, _ = other.request(REFRESH, [])
    expect("Refresh by another user", code, 441)
    tid = os.urandom(12)
    peer = peer_socket()
    peer_port = peer.getsockname()[1]
    code, _ = c.request(CREATE_PERMISSION,
                        [(XOR_PEER_ADDRESS, xor_address("10.1.2.3", 9, b""))])
    expect("CreatePermission to 10.1.2.3", code, 403)
    code, _ = c.request(CREATE_PERMISSION,
                        [(XOR_PEER_ADDRESS, xor_address("169.254.169.254", 80, b""))])
    expect("CreatePermission to the metadata address", code, 403)
    code, _ = c.request(CHANNEL_BIND, [(CHANNEL_NUMBER, b"\x3f\xff\0\0"),
                                       (XOR_PEER_ADDRESS, xor_address("127.0.0.1", peer_port, b""))])
    expect("ChannelBind 0x3FFF", code, 400)
    # Send without a permission is dropped silently.
    c.send(Message(SEND, INDICATION, [(XOR_PEER_ADDRESS, xor_address("127.0.0.1", peer_port, b"")),
                                      (DATA_ATTR, b"no permission")]))
    try:
        peer.recv(100)
        raise Failure("data reached a peer without a permission")
    except socket.timeout:
        print("ok: Send without a permission is dropped")
    code, _ = c.request(CHANNEL_BIND, [(CHANNEL_NUMBER, b"\x40\x01\0\0"),
                                       (XOR_PEER_ADDRESS, xor_address("127.0.0.1", peer_port, b""))])
    expect("ChannelBind 0x4001", code, 0)
    c.sock.sendto(struct.pack("!HH", 0x4001, 5) + b"hello\0\0\0", c.server)
    data, from_addr = peer.recvfrom(100)
    expect("ChannelData reaches the peer", data, b"hello")
    peer.sendto(b"back", from_addr)
    got = c.sock.recv(100)
    expect("peer data comes back as ChannelData", got[:8], struct.pack("!HH", 0x4001, 4) + b"back")
    code, _ = c.request(CHANNEL_BIND, [(CHANNEL_NUMBER, b"\x40\x02\0\0"),
                                       (XOR_PEER_ADDRESS, xor_address("127.0.0.1", peer_port, b""))])
    expect("binding the same peer to a second channel", code, 400)
    # RFC 8489 section 6.3.2: an indication with an unknown
    # comprehension-required attribute is discarded.
    c.send(Message(SEND, INDICATION, [
        (XOR_PEER_ADDRESS, xor_address("127.0.0.1", peer_port, b"")),
        (DATA_ATTR, b"unknown attribute"), (0x7FF0, b"what")]))
    try:
        got = peer.recv(100)
        raise Failure("a Send with an unknown attribute arrived: %r" % got)
    except socket.timeout:
        print("ok: a Send with an unknown comprehension-required attribute "
              "is dropped")
    # Requests and data back to back, without waiting for answers: the
    # worker reads them in batches and must serve each in its place.
    other = peer_socket()
    other_address = xor_address(*other.getsockname(), b"")
    permit, permit_bytes = c.signed(CREATE_PERMISSION,
                                    [(XOR_PEER_ADDRESS, other_address)])
    refresh, refresh_bytes = c.signed(REFRESH, [(LIFETIME, b"\0\0\0\0")])
    for data in (permit_bytes,
                 Message(SEND, INDICATION, [(XOR_PEER_ADDRESS, other_address),
                                            (DATA_ATTR, b"right behind")]).encode(),
                 struct.pack("!HH", 0x4001, 6) + b"before\0\0",
                 refresh_bytes,
                 struct.pack("!HH", 0x4001, 5) + b"after\0\0\0"):
        c.sock.sendto(data, c.server)
    expect("CreatePermission sent ahead of data", c.answer(permit)[0], 0)
    expect("a Send right behind its CreatePermission arrives",
           other.recv(100), b"right behind")
    code, reply = c.answer(refresh)
    expect("Refresh with LIFETIME 0 among data", code, 0)
    expect("it answers LIFETIME 0", reply.get(LIFETIME), b"\0\0\0\0")
    expect("the data before Refresh 0 arrives", peer.recv(100), b"before")
    try:
        got = peer.recv(100)
        raise Failure("data after Refresh 0 arrived: %r" % got)
    except socket.timeout:
        print("ok: the data after Refresh 0 is not relayed")
    other.close()
    code, _ = c.request(REFRESH, [])
    expect("Refresh after delete", code, 437)
    peer.close()
    c.close()
    del relayed, tid


def check_retransmission(host, port, user, password):
    c = Client(host, port, user, password)
    c.request(ALLOCATE, [(REQUESTED_TRANSPORT, b"\x06\0\0\0")])  # learn the nonce
    msg = Message(ALLOCATE, REQUEST, [UDP, (USERNAME, user.encode()),
                                      (REALM, c.realm), (NONCE, c.nonce)])
    _, first, _ = c.transact(msg, c.key)
    expect("Allocate", error_code(first), 0)
    _, again, _ = c.transact(msg, c.key)
    expect("retransmitted Allocate gets the same relayed address",
           again.get(XOR_RELAYED_ADDRESS), first[XOR_RELAYED_ADDRESS])
    c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
    c.close()


def check_stale_nonce(host, port, user, password, wait):
    c = Client(host, port, user, password)
    code, _ = c.request(ALLOCATE, [UDP])
    expect("Allocate", code, 0)
    import time
    time.sleep(float(wait))
    msg = Message(REFRESH, REQUEST, [(USERNAME, user.encode()), (REALM, c.realm),
                                     (NONCE, c.nonce)])
    _, reply, _ = c.transact(msg, c.key)
    expect("Refresh with an expired nonce", error_code(reply), 438)
    expect("438 carries a fresh NONCE", NONCE in reply and reply[NONCE] != c.nonce, True)
    code, _ = c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
    expect("the client recovers with the fresh nonce", code, 0)
    c.close()


def cmd_errors(host, port, user, password, other, other_password, wait="0"):
    try:
        check_allocate_errors(host, port, user, password)
        check_allocation_lifecycle(host, port, user, password, (other, other_password))
        check_retransmission(host, port, user, password)
        if float(wait) > 0:
            check_stale_nonce(host, port, user, password, wait)
    except (Failure, TimeoutError) as e:
        print("FAIL:", e)
        return 1
    return 0


def cmd_capacity(host, port, user, password, ports):
    """With a relay range of `ports` ports, one more Allocate gets 508."""
    clients = []
    try:
        for i in range(int(ports)):
            c = Client(host, port, user, password)
            code, _ = c.request(ALLOCATE, [UDP])
            expect("Allocate %d of %s" % (i + 1, ports), code, 0)
            clients.append(c)
        c = Client(host, port, user, password)
        code, _ = c.request(ALLOCATE, [UDP])
        expect("Allocate with no relay port left", code, 508)
        clients.append(c)
    except (Failure, TimeoutError) as e:
        print("FAIL:", e)
        return 1
    finally:
        for c in clients:
            c.close()
    return 0


def cmd_hostile(host, port, user, password):
    """Malformed and hostile traffic: nothing may be answered but the
    right errors, and nothing may break."""
    import random
    rng = random.Random(7)
    c = Client(host, port, user, password)
    code, _ = c.request(ALLOCATE, [(REQUESTED_TRANSPORT, b"\x06\0\0\0")])
    good = Message(ALLOCATE, REQUEST, [UDP, (USERNAME, user.encode()),
                                       (REALM, c.realm), (NONCE, c.nonce)]).encode(c.key)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = 0
    for i in range(3000):
        kind = i % 6
        if kind == 0:
            data = os.urandom(rng.randrange(1, 1200))
        elif kind == 1:   # every truncation of a valid authenticated request
            data = good[:rng.randrange(1, len(good))]
        elif kind == 2:   # a flipped bit anywhere
            b = bytearray(good)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            data = bytes(b)
        elif kind == 3:   # attribute length running past the end
            data = struct.pack("!HHI", msg_type(ALLOCATE, REQUEST), 8, MAGIC) + \
                os.urandom(12) + struct.pack("!HH", USERNAME, 500) + b"abcd"
        elif kind == 4:   # ChannelData for a channel nobody bound
            data = struct.pack("!HH", 0x4000 + rng.randrange(0x1000), 4) + b"oops"
        else:             # wrong integrity
            data = Message(ALLOCATE, REQUEST, [UDP, (USERNAME, user.encode()),
                                               (REALM, c.realm), (NONCE, c.nonce)]
                           ).encode(os.urandom(16))
        s.sendto(data, c.server)
        sent += 1
    import time
    time.sleep(0.3)
    replies = 0
    while True:
        try:
            reply = s.recv(4096)
        except BlockingIOError:
            break
        replies += 1
        mtype, _, attrs = decode(reply)
        if mtype & 0x110 != 0x110:
            print("FAIL: hostile traffic got a success response")
            return 1
        if error_code(attrs) not in (400, 401, 420, 438):
            print("FAIL: unexpected error %d" % error_code(attrs))
            return 1
    print("sent %d hostile datagrams, %d error responses, no success" % (sent, replies))
    c.close()
    s.close()
    return 0



def allocate_many(host, port, user, password, count):
    """count clients on distinct source ports; returns (clients, codes)."""
    clients, codes = [], []
    for _ in range(int(count)):
        c = Client(host, port, user, password)
        code, reply = c.request(ALLOCATE, [UDP])
        codes.append(code)
        clients.append(c)
    return clients, codes


def cmd_quota(host, port, user, password, count, allowed):
    """Exactly `allowed` of `count` Allocates succeed and the rest get 486,
    wherever they land; after one is deleted, one more succeeds."""
    count, allowed = int(count), int(allowed)
    clients, codes = allocate_many(host, port, user, password, count)
    ok = codes.count(0)
    refused = codes.count(486)
    print("%d Allocates: %d succeeded, %d got 486, others %r" % (
        count, ok, refused, sorted(set(codes) - {0, 486})))
    status = 0
    if ok != allowed or refused != count - allowed:
        print("FAIL: want %d successes and %d 486s" % (allowed, count - allowed))
        status = 1
    live = [c for c, code in zip(clients, codes) if code == 0]
    waiting = [c for c, code in zip(clients, codes) if code == 486]
    if status == 0 and live and waiting:
        code, _ = live[0].request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
        expect("deleting one allocation", code, 0)
        code, _ = waiting[0].request(ALLOCATE, [UDP])
        if code != 0:
            print("FAIL: after a delete the next Allocate got %d" % code)
            status = 1
        else:
            print("ok: after a delete one more Allocate succeeds")
            live[0] = waiting[0]
        code, _ = waiting[1].request(ALLOCATE, [UDP]) if len(waiting) > 1 else (486, None)
        if code != 486:
            print("FAIL: the quota let one too many in (%d)" % code)
            status = 1
    for c in live:
        try:
            c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
        except TimeoutError:
            pass
    for c in clients:
        c.close()
    return status


def cmd_hold(host, port, user, password, count, stop_file, timeout="60"):
    """Allocates `count` clients, prints "ready", holds them until
    stop_file exists (or timeout), then deletes them."""
    import time
    clients, codes = allocate_many(host, port, user, password, count)
    if codes.count(0) != int(count):
        print("FAIL: only %d of %s allocations" % (codes.count(0), count))
        return 1
    print("ready", flush=True)
    deadline = time.monotonic() + float(timeout)
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    for c in clients:
        try:
            c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
        except TimeoutError:
            pass
        c.close()
    return 0


def cmd_relay(host, port, user, password, count, stop_file, timeout="60",
              end="keep"):
    """`count` clients relay ChannelData through channels to one echo peer
    at about 50 packets per second each until stop_file exists; prints
    "ready" when all are set up and, at the end, one line per client:
    client=ADDR sent=N received=M. With end=delete the clients delete
    their allocations (Refresh 0) before they go."""
    import select
    import time
    peer = peer_socket()
    peer.setblocking(False)
    peer_addr = peer.getsockname()
    clients = []
    for i in range(int(count)):
        c = Client(host, port, user, password)
        code, _ = c.request(ALLOCATE, [UDP])
        if code != 0:
            print("FAIL: Allocate %d got %d" % (i, code))
            return 1
        code, _ = c.request(CHANNEL_BIND, [
            (CHANNEL_NUMBER, b"\x40\x00\0\0"),
            (XOR_PEER_ADDRESS, xor_address(peer_addr[0], peer_addr[1], b""))])
        if code != 0:
            print("FAIL: ChannelBind %d got %d" % (i, code))
            return 1
        c.sock.setblocking(False)
        c.sent = c.received = 0
        clients.append(c)
    print("ready", flush=True)
    by_fd = {c.sock.fileno(): c for c in clients}
    deadline = time.monotonic() + float(timeout)
    next_send = time.monotonic()
    draining_until = None
    while True:
        now = time.monotonic()
        if draining_until is None and (os.path.exists(stop_file) or now > deadline):
            draining_until = now + 1.0
        if draining_until is not None and now > draining_until:
            break
        if draining_until is None and now >= next_send:
            for c in clients:
                payload = b"seq%08d" % c.sent
                try:
                    c.sock.sendto(struct.pack("!HH", 0x4000, len(payload)) + payload,
                                  c.server)
                    c.sent += 1
                except OSError:
                    pass
            next_send += 0.02
        r, _, _ = select.select([peer] + [c.sock for c in clients], [], [], 0.005)
        for sock in r:
            if sock is peer:
                while True:
                    try:
                        data, addr = peer.recvfrom(2048)
                    except BlockingIOError:
                        break
                    peer.sendto(data, addr)
                continue
            c = by_fd[sock.fileno()]
            while True:
                try:
                    data = sock.recv(2048)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if data[:2] == b"\x40\x00":
                    c.received += 1
    status = 0
    for c in clients:
        local = c.sock.getsockname()
        print("client=%s:%d sent=%d received=%d" % (local[0], local[1], c.sent, c.received))
        if end == "delete":
            c.sock.setblocking(True)
            c.sock.settimeout(1.0)
            try:
                code, _ = c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
            except TimeoutError:
                code = -1
            if code != 0:
                print("FAIL: deleting the allocation of %s:%d got %d" % (
                    local[0], local[1], code))
                status = 1
        c.close()
    return status


def cmd_flood_many(host, port, total, ports):
    """`total` unauthenticated Allocates from `ports` source ports, without
    waiting for answers (a flood, not a conversation)."""
    import resource
    total, ports = int(total), int(ports)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    per_port = max(1, total // ports)
    sent = 0
    batch = 1000
    for start in range(0, ports, batch):
        socks = []
        for _ in range(min(batch, ports - start)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            socks.append(s)
        for _ in range(per_port):
            for s in socks:
                msg = Message(ALLOCATE, REQUEST, [UDP]).encode()
                try:
                    s.sendto(msg, (host, int(port)))
                    sent += 1
                except BlockingIOError:
                    pass
        for s in socks:
            s.close()
    print("sent %d unauthenticated Allocates from %d source ports" % (sent, ports))
    return 0


def cmd_blindauth(host, port, user, realm):
    """A wrong password with a NONCE the server never gave this address
    (what a forged source can send, blind), then with the nonce of the
    server's 401. Both must get 401."""
    c = Client(host, port, user, "not-the-password")
    c.realm = realm.encode()
    c.nonce = NONCE_COOKIE + b"made-up-" + os.urandom(8).hex().encode()
    c.key = hashlib.md5(b"%s:%s:guess" % (user.encode(), c.realm)).digest()
    transport = [(REQUESTED_TRANSPORT, b"\x11\0\0\0")]
    blind, reply = c.request(ALLOCATE, transport)
    if NONCE not in reply:
        print("FAIL: the 401 carries no nonce")
        return 1
    c.learn(reply)
    informed, _ = c.request(ALLOCATE, transport)
    print("made-up nonce: %d, the server's nonce: %d" % (blind, informed))
    return 0 if (blind, informed) == (401, 401) else 1


def cmd_refresh_later(host, port, user, password, go_file):
    """Allocates, prints "ready", and once go_file exists (at most 30 s
    later) refreshes the allocation with the same credentials; prints
    "refresh N" with the code (0: success)."""
    import time
    c = Client(host, port, user, password)
    code, _ = c.allocate()
    if code != 0:
        print("FAIL: Allocate got %d" % code)
        return 1
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(go_file) and time.monotonic() < deadline:
        time.sleep(0.05)
    code, _ = c.request(REFRESH, [(LIFETIME, struct.pack("!I", 600))])
    print("refresh %d" % code, flush=True)
    return 0


def cmd_userhash(host, port, user, password):
    """An allocation by USERHASH, refreshed and deleted by USERHASH (RFC
    8656 §5: the same user on every request of an allocation)."""
    c = Client(host, port, user, password, userhash=True)
    code, reply = c.allocate()
    if code == 0:
        # §9.2.4: the success is signed with the user's SHA-256 key.
        if XOR_RELAYED_ADDRESS not in reply or \
                not integrity_sha256_valid(c.last_reply, c.key):
            print("FAIL: a success without a relayed address or a valid "
                  "MESSAGE-INTEGRITY-SHA256")
            return 1
        code, _ = c.request(REFRESH, [(LIFETIME, struct.pack("!I", 600))])
    if code == 0:
        code, _ = c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
    c.close()
    print(code)
    return 0


def cmd_bindorder(host, port, user, password, rounds="48"):
    """The client binds a channel to a peer that has a permission and, at
    the same moment, the peer sends a burst, so that the server reads the
    ChannelBind and the peer's data in one round: no ChannelData on the
    new channel may arrive before the ChannelBind success, for a client
    may drop data on a channel it does not know yet (RFC 8656 §12). One
    new peer and channel per round, a new allocation every 12 rounds (an
    allocation binds at most 16 channels): the two land in one round only
    some of the time, so it takes many rounds to be sure. A round whose
    success never comes (a drop) counts as lost, not as a failure."""
    answered = lost = 0
    c = None
    # An allocation's peers stay open while it lives: a closed one's port
    # could come back as a later round's peer, already bound to another
    # channel (400).
    peers = []
    for r in range(int(rounds)):
        if r % 12 == 0:
            if c is not None:
                c.close()
            for old in peers:
                old.close()
            peers = []
            c = Client(host, port, user, password)
            code, reply = c.allocate()
            if code != 0:
                print("FAIL: Allocate got %d" % code)
                return 1
            relayed = parse_xor_address(reply[XOR_RELAYED_ADDRESS], b"")
        peer = peer_socket()
        peers.append(peer)
        peer_addr = peer.getsockname()
        xpeer = xor_address(peer_addr[0], peer_addr[1], b"")
        code, _ = c.request(CREATE_PERMISSION, [(XOR_PEER_ADDRESS, xpeer)])
        if code != 0:
            print("FAIL: CreatePermission got %d" % code)
            return 1
        channel = 0x4000 + r % 12
        msg = Message(CHANNEL_BIND, REQUEST,
                      [(CHANNEL_NUMBER, struct.pack("!HH", channel, 0)),
                       (XOR_PEER_ADDRESS, xpeer)] + c.credentials())
        c.send(msg, c.key)
        for _ in range(32):
            peer.sendto(b"x" * 64, relayed)
        early = False
        c.sock.settimeout(0.5)
        try:
            while True:
                packet = c.sock.recv(4096)
                if packet[0] & 0xC0 == 0x40:
                    early = early or \
                        struct.unpack("!H", packet[:2])[0] == channel
                    continue
                mtype, tid, attrs = decode(packet)
                if tid == msg.tid:
                    break
            if mtype != msg_type(CHANNEL_BIND, SUCCESS):
                print("FAIL: ChannelBind got %s (round %d)"
                      % (error_code(attrs), r))
                return 1
            if early:
                print("FAIL: ChannelData on channel 0x%04x before the "
                      "ChannelBind success (round %d)" % (channel, r))
                return 1
            answered += 1
        except socket.timeout:
            lost += 1
        # The rest of the burst.
        c.sock.settimeout(0.05)
        try:
            while True:
                c.sock.recv(4096)
        except socket.timeout:
            pass
    for old in peers:
        old.close()
    print("%d ChannelBinds answered before any data on their channel, "
          "%d lost, of %s" % (answered, lost, rounds))
    if lost * 2 > int(rounds):
        print("FAIL: most rounds lost their ChannelBind success")
        return 1
    return 0


def main(argv):
    commands = {"flood": cmd_flood, "errors": cmd_errors,
                "capacity": cmd_capacity, "hostile": cmd_hostile,
                "quota": cmd_quota, "hold": cmd_hold, "relay": cmd_relay,
                "flood-many": cmd_flood_many, "userhash": cmd_userhash,
                "blindauth": cmd_blindauth, "refresh-later": cmd_refresh_later,
                "bindorder": cmd_bindorder}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
