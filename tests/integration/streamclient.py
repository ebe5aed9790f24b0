#!/usr/bin/python3
"""TURN over TCP and TLS for the integration tests (standard library only):
a client with the same request API as turnclient.Client on a byte stream
(RFC 8656 section 12.5 framing), and hostile stream behaviour.

  streamclient.py relay HOST PORT USER PASS [tls CAFILE] [trickle]
        Allocate, ChannelBind and 20 ChannelData echoes through a peer on
        127.0.0.1, a Send/Data round trip, then requests among data in
        single writes, and close; with trickle, every byte goes out in its
        own write.
  streamclient.py framing HOST PORT
        Frames longer than any message, garbage, and a legal but unfinished
        frame: the first two are closed at once, the last one holds.
  streamclient.py stall HOST PORT TLS_PORT HANDSHAKE AUTH
        A TLS client that never starts its handshake is closed after
        about HANDSHAKE seconds; a TCP client that never allocates after
        about AUTH seconds.
  streamclient.py idle HOST PORT COUNT SOURCE STOP_FILE
        COUNT idle connections from SOURCE (a 127.x.y.z address, or
        "many" for 127.0.1.1-10); prints "held N" once the server has
        refused what it refuses, then holds the rest until STOP_FILE.
  streamclient.py noread HOST PORT USER PASS COUNT WAIT
        A client that allocates and reads nothing for WAIT seconds while a
        peer sends COUNT datagrams to it; succeeds when the server has
        closed it.
  streamclient.py slowread HOST PORT USER PASS COUNT WAIT [RELAY_RCVBUF]
        A client that reads nothing for WAIT seconds while a peer sends
        COUNT 500-byte datagrams, no more at a time than the relay socket
        holds: succeeds when the server left some in the relay socket
        meanwhile and, once the client reads, every one arrives, in order
        (the server paused and resumed the relay).
  streamclient.py bigdata HOST PORT USER PASS COUNT SIZE BURST
        A client that reads at once while a peer sends COUNT datagrams of
        SIZE bytes in bursts of BURST (each more than the client's queue
        holds, none more than the relay socket holds): every one arrives,
        in order.
  streamclient.py hold HOST PORT USER PASS CAFILE STOP_FILE
        A TLS client relays one echo per 50 ms until STOP_FILE; prints
        "ready" and the certificate's SHA-256, then "relayed N of M".
  streamclient.py fingerprint HOST PORT
        The SHA-256 of the certificate a new TLS connection is served.
  streamclient.py tlsinfo HOST PORT 1.2|1.3
        The version and cipher a connection with exactly that TLS version
        gets, or "refused".
"""
import hashlib
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from turnclient import (ALLOCATE, CHANNEL_BIND, CHANNEL_NUMBER,  # noqa: E402
                        CREATE_PERMISSION, DATA, DATA_ATTR, INDICATION,
                        LIFETIME, REFRESH, REQUEST, SEND, XOR_PEER_ADDRESS,
                        XOR_RELAYED_ADDRESS, Client, Message, decode,
                        error_code, parse_xor_address, peer_socket,
                        xor_address)

UDP = (0x0019, b"\x11\0\0\0")


def frame_length(head):
    """RFC 8656 section 12.5: STUN is 20 + length, ChannelData 4 + length
    padded to 4."""
    length = struct.unpack("!H", head[2:4])[0]
    if head[0] & 0xC0 == 0x40:
        return (4 + length + 3) & ~3
    return 20 + length


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def connect(host, port, cafile=None, source=None, timeout=5.0, rcvbuf=None):
    """A TCP (or, with cafile, TLS) connection; rcvbuf, when given, is
    the receive buffer, set before the handshake: the window then agrees
    with the buffer from the first segment on. Set after, it would shrink
    the buffer under a window already advertised, and the kernel would
    drop what the server sends into that window."""
    if rcvbuf is None:
        sock = socket.create_connection(
            (host, int(port)), timeout=timeout,
            source_address=(source, 0) if source else None)
    else:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        if source:
            sock.bind((source, 0))
        sock.connect((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if cafile:
        sock = tls_context(cafile).wrap_socket(sock, server_hostname=host)
    return sock


class StreamClient(Client):
    """turnclient.Client's requests over one TCP or TLS connection."""

    def __init__(self, host, port, username=None, password=None,
                 cafile=None, trickle=False, rcvbuf=None):
        Client.__init__(self, host, port, username, password,
                        sock=connect(host, port, cafile, rcvbuf=rcvbuf))
        self.sock.settimeout(3.0)
        self.trickle = trickle
        self.buffer = b""

    def write(self, data):
        if not self.trickle:
            self.sock.sendall(data)
            return
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(0.0002)

    def read_frame(self):
        while True:
            if len(self.buffer) >= 4:
                n = frame_length(self.buffer)
                if len(self.buffer) >= n:
                    frame, self.buffer = self.buffer[:n], self.buffer[n:]
                    return frame
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buffer += chunk

    def send(self, msg, key=None):
        self.write(msg.encode(key))

    def transact(self, msg, key=None, tries=1):
        self.write(msg.encode(key))
        while True:
            frame = self.read_frame()
            if frame[0] & 0xC0 == 0x40:
                continue  # relayed data while waiting for an answer
            mtype, tid, attrs = decode(frame)
            if tid == msg.tid:
                return mtype, attrs, frame

    def channel_data(self, channel, payload):
        self.write(channel_frame(channel, payload))

    def answer(self, msg):
        """The error code (0: success) of the answer to msg."""
        while True:
            frame = self.read_frame()
            if frame[0] & 0xC0 == 0x40:
                continue
            _, tid, attrs = decode(frame)
            if tid == msg.tid:
                return error_code(attrs)


def channel_frame(channel, payload):
    """ChannelData on a stream, padded to 4 bytes (RFC 8656 section
    12.5)."""
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return struct.pack("!HH", channel, len(payload)) + payload + pad


def send_indication(peer, payload):
    return Message(SEND, INDICATION, [
        (XOR_PEER_ADDRESS, xor_address(peer[0], peer[1], b"")),
        (DATA_ATTR, payload)]).encode()


def received(sock, expected):
    """What sock receives: up to a second for the expected number of
    datagrams, then 0.2 s more for one that should not come."""
    got = []
    sock.settimeout(1.0)
    try:
        while len(got) < expected:
            got.append(sock.recv(4096))
        sock.settimeout(0.2)
        got.append(sock.recv(4096))
    except socket.timeout:
        pass
    return got


class Failure(Exception):
    pass


def check(what, ok):
    if not ok:
        raise Failure(what)
    print("ok:", what)


def bind_channel(c, peer, number=0x4000):
    code, _ = c.request(CHANNEL_BIND, [
        (CHANNEL_NUMBER, struct.pack("!HH", number, 0)),
        (XOR_PEER_ADDRESS, xor_address(peer[0], peer[1], b""))])
    check("ChannelBind 0x%04x" % number, code == 0)


def echo_once(c, peer_sock, payload, channel=0x4000):
    """ChannelData to the peer, which answers; the answer comes back
    padded to 4 bytes."""
    c.channel_data(channel, payload)
    data, addr = peer_sock.recvfrom(4096)
    if data != payload:
        raise Failure("the peer got %r" % data[:20])
    peer_sock.sendto(data[::-1], addr)
    frame = c.read_frame()
    want = struct.pack("!HH", channel, len(payload)) + payload[::-1]
    if frame[:len(want)] != want or len(frame) % 4 != 0:
        raise Failure("ChannelData came back as %r" % frame[:24])


def check_pipelined(c, peer, other):
    """Requests and data in one write, as a busy client sends them: the
    server relays the data in batches, and must serve each request in its
    place among them."""
    third, fourth = peer_socket(), peer_socket()
    bind, bind_bytes = c.signed(CHANNEL_BIND, [
        (CHANNEL_NUMBER, struct.pack("!HH", 0x4001, 0)),
        (XOR_PEER_ADDRESS, xor_address(*third.getsockname(), b""))])
    permit, permit_bytes = c.signed(CREATE_PERMISSION, [
        (XOR_PEER_ADDRESS, xor_address(*fourth.getsockname(), b""))])
    c.write(bind_bytes +
            b"".join(channel_frame(0x4001, b"after-bind-%d" % i)
                     for i in range(3)) +
            send_indication(other.getsockname(), b"sent-0") +
            permit_bytes +
            send_indication(fourth.getsockname(), b"to-the-fourth") +
            channel_frame(0x4000, b"on-the-old-channel") +
            send_indication(other.getsockname(), b"sent-1"))
    check("a ChannelBind among data is answered", c.answer(bind) == 0)
    check("a CreatePermission among data is answered", c.answer(permit) == 0)
    check("data on a channel bound earlier in the same write arrives, in "
          "order", received(third, 3) == [b"after-bind-%d" % i
                                          for i in range(3)])
    check("Send indications among ChannelData arrive, in order",
          received(other, 2) == [b"sent-0", b"sent-1"])
    check("a Send to a peer permitted earlier in the same write arrives",
          received(fourth, 1) == [b"to-the-fourth"])
    check("ChannelData to another peer in the same write arrives",
          received(peer, 1) == [b"on-the-old-channel"])
    # Send indications and ChannelData to one peer keep their order.
    bind_channel(c, other.getsockname(), 0x4002)
    c.write(send_indication(other.getsockname(), b"s0") +
            channel_frame(0x4002, b"c1") +
            send_indication(other.getsockname(), b"s2") +
            channel_frame(0x4002, b"c3"))
    check("Send indications and ChannelData to one peer keep their order",
          received(other, 4) == [b"s0", b"c1", b"s2", b"c3"])
    # More frames in one write than a batch holds (64).
    c.write(b"".join(channel_frame(0x4000, b"w%03d" % i) for i in range(150)))
    check("150 frames in one write arrive, in order",
          received(peer, 150) == [b"w%03d" % i for i in range(150)])
    refresh, refresh_bytes = c.signed(REFRESH, [(LIFETIME, b"\0\0\0\0")])
    c.write(channel_frame(0x4000, b"before-delete-0") +
            channel_frame(0x4000, b"before-delete-1") + refresh_bytes +
            channel_frame(0x4000, b"after-delete"))
    check("Refresh 0 among data deletes the allocation",
          c.answer(refresh) == 0)
    check("the data before it arrives, the data after it does not",
          received(peer, 2) == [b"before-delete-0", b"before-delete-1"])
    third.close()
    fourth.close()


def cmd_relay(host, port, user, password, *options):
    cafile = options[1] if len(options) > 1 and options[0] == "tls" else None
    c = StreamClient(host, port, user, password, cafile, "trickle" in options)
    code, reply = c.request(ALLOCATE, [UDP])
    check("Allocate over %s" % ("TLS" if cafile else "TCP"), code == 0)
    relayed = parse_xor_address(reply[XOR_RELAYED_ADDRESS], b"")
    peer = peer_socket()
    bind_channel(c, peer.getsockname())
    for i in range(20):
        echo_once(c, peer, b"stream-%d-" % i + b"x" * (i % 7))
    check("20 ChannelData echoes, padded to 4 bytes", True)
    # Send and Data indications (RFC 8656 sections 10.2 and 10.3).
    other = peer_socket()
    code, _ = c.request(CREATE_PERMISSION, [
        (XOR_PEER_ADDRESS, xor_address(*other.getsockname(), b""))])
    check("CreatePermission", code == 0)
    c.send(Message(SEND, INDICATION, [
        (XOR_PEER_ADDRESS, xor_address(*other.getsockname(), b"")),
        (DATA_ATTR, b"by indication")]))
    data, addr = other.recvfrom(100)
    check("a Send indication reaches the peer from the relayed address",
          data == b"by indication" and addr[1] == relayed[1])
    other.sendto(b"odd", addr)
    frame = c.read_frame()
    mtype, _, attrs = decode(frame)
    check("a peer datagram comes back as a Data indication",
          mtype == 0x0017 and attrs.get(DATA_ATTR) == b"odd")
    check_pipelined(c, peer, other)
    code, _ = c.request(ALLOCATE, [UDP])
    check("a second Allocate on the same connection", code == 0)
    c.close()
    peer.close()
    other.close()
    return 0


def closed_within(sock, seconds):
    """Seconds until the server closed sock (EOF or reset), or None."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, ssl.SSLError, OSError):
            return time.monotonic() - start
    return None


def cmd_framing(host, port):
    huge_stun = struct.pack("!HHI", 0x0003, 0xFFFC, 0x2112A442) + os.urandom(12)
    huge_channel = struct.pack("!HH", 0x4000, 0xFFFF) + b"abcd"
    for name, data in (("a STUN header announcing 64 KiB", huge_stun),
                       ("a ChannelData header announcing 64 KiB", huge_channel),
                       ("bytes that are neither STUN nor ChannelData",
                        b"\xff\xfe" + os.urandom(30)),
                       ("a STUN length that is not a multiple of 4",
                        struct.pack("!HHI", 1, 6, 0x2112A442) + os.urandom(18))):
        s = connect(host, port)
        s.sendall(data)
        check(name + " closes the connection at once",
              closed_within(s, 2.0) is not None)
        s.close()
    # A request and then the client's half of the connection closed: the
    # answer still comes, then the server closes.
    s = connect(host, port)
    binding = Message(0x001, 0x000)
    s.sendall(binding.encode())
    s.shutdown(socket.SHUT_WR)
    s.settimeout(3)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    check("a request before a half-close is answered, then the stream ends",
          len(data) >= 20 and decode(data)[1] == binding.tid)
    s.close()
    # A legal size, unfinished: the server waits for the rest.
    s = connect(host, port)
    s.sendall(struct.pack("!HHI", 0x0001, 1000, 0x2112A442) + os.urandom(12) + b"x" * 400)
    check("an unfinished legal message keeps the connection open",
          closed_within(s, 1.0) is None)
    s.close()
    return 0


def cmd_stall(host, port, tls_port, handshake, auth):
    handshake, auth = float(handshake), float(auth)
    tls_stall = connect(host, tls_port)
    tcp_idle = connect(host, port)
    t_tls = closed_within(tls_stall, auth + 3)
    check("a stalled TLS handshake is closed after about %gs (%s)" % (handshake, t_tls),
          t_tls is not None and handshake - 0.2 <= t_tls <= handshake + 2)
    t_tcp = closed_within(tcp_idle, auth + 3)
    if t_tcp is not None:
        t_tcp += t_tls
    check("a client without Allocate is closed after about %gs (%s)" % (auth, t_tcp),
          t_tcp is not None and auth - 0.2 <= t_tcp <= auth + 2.5)
    return 0


def cmd_idle(host, port, count, source, stop_file):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sources = ["127.0.1.%d" % (1 + i % 10) for i in range(int(count))] \
        if source == "many" else [source] * int(count)
    socks = []
    for src in sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.setblocking(False)
        try:
            s.connect((host, int(port)))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(1.5)
    held = []
    for s in socks:
        r, w, _ = select.select([s], [s], [], 0)
        # Not connected (yet): not held by the server either.
        if not w or s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            s.close()
            continue
        if r:
            try:
                if s.recv(1) == b"":
                    s.close()
                    continue
            except OSError:
                s.close()
                continue
        held.append(s)
    print("held %d of %d" % (len(held), len(socks)), flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    for s in held:
        s.close()
    return 0


def small_window_client(host, port, user, password):
    """A TCP client with a small receive buffer, an allocation and a
    channel to a peer socket on 127.0.0.1: (client, peer, where the peer
    sends to reach the client).

    The buffer is set before connecting (connect()). Shrunk afterwards,
    the kernel dropped the segments the server had sent into the window
    advertised before, and the server's TCP recovered them only by
    retransmission timeouts, doubling from 200 ms; reading did not bring
    them. A client that read again 1.5 s after the server's socket had
    filled got nothing until the retransmission due about 1.7 s after,
    or, late by a little under load, the next at about 3.3 s: by then
    the server, its socket not writable for stream-write-timeout (3 s),
    had reset the connection."""
    c = StreamClient(host, port, user, password, rcvbuf=4096)
    code, reply = c.request(ALLOCATE, [UDP])
    check("Allocate", code == 0)
    relayed = parse_xor_address(reply[XOR_RELAYED_ADDRESS], b"")
    peer = peer_socket()
    bind_channel(c, peer.getsockname())
    return c, peer, ("127.0.0.1", relayed[1])


def cmd_noread(host, port, user, password, count, wait):
    """The client reads nothing for `wait` seconds (more than the
    server's stream-write-timeout), then drains what was queued: the
    stream must end, closed by the server."""
    c, peer, relay = small_window_client(host, port, user, password)
    peer.setblocking(False)
    sent = 0
    for i in range(int(count)):
        try:
            peer.sendto(b"%08d" % i + b"z" * 1000, relay)
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
        if i % 200 == 0:
            time.sleep(0.002)
    print("peer sent %d datagrams to a client that does not read" % sent,
          flush=True)
    time.sleep(float(wait))
    closed = closed_within(c.sock, 10)
    check("the server dropped the client that does not read", closed is not None)
    c.sock.close()
    peer.close()
    return 0


def udp_queue(port):
    """(bytes queued, datagrams dropped) at the UDP socket bound to
    127.0.0.1:port, as /proc/net/udp counts them (the queue in what the
    kernel charges against SO_RCVBUF, overhead included); Failure when
    there is none (the allocation is gone)."""
    local = "0100007F:%04X" % int(port)
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local:
                return int(fields[4].split(":")[1], 16), int(fields[-1])
    raise Failure("no UDP socket on 127.0.0.1:%s" % port)


def udp_capacity(rcvbuf, payload):
    """How many datagrams of `payload` bytes from 127.0.0.1 a socket with
    SO_RCVBUF rcvbuf holds unread, and what the kernel charges for one: a
    socket of our own asks for the same buffer (capped at rmem_max and
    doubled alike) and is filled until it drops."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sink.bind(("127.0.0.1", 0))
    source = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(4 * rcvbuf // payload):
        source.sendto(b"c" * payload, sink.getsockname())
    queued, _ = udp_queue(sink.getsockname()[1])
    sink.setblocking(False)
    held = 0
    try:
        while True:
            sink.recv(payload)
            held += 1
    except BlockingIOError:
        pass
    sink.close()
    source.close()
    return held, queued // held


def send_within(peer, relay, count, room, charge, size=500, burst=0):
    """Sends count numbered datagrams of `size` bytes from peer to relay,
    never more than the relay socket has room for (room datagrams, each
    charged charge bytes): when the server does not read it, paused or
    not scheduled yet, the peer waits rather than have the kernel drop.
    With burst, they go burst at a time, each burst once all of it
    fits."""
    deadline = time.monotonic() + 5
    sent = 0
    while sent < count:
        queued, _ = udp_queue(relay[1])
        free = room - (queued + charge - 1) // charge
        n = min(count - sent, burst or free)
        if n <= 0 or n > free:
            if time.monotonic() > deadline:
                raise Failure("the relay socket stayed full: %d datagrams "
                              "queued, %d to send" %
                              (queued // charge, count - sent))
            time.sleep(0.001)
            continue
        for i in range(sent, sent + n):
            peer.sendto(b"%08d" % i + b"p" * (size - 8), relay)
        sent += n
        deadline = time.monotonic() + 5


def read_in_order(c, count, seconds, note=""):
    """Reads ChannelData frames until count numbered datagrams have come
    (or seconds have passed): raises on one out of order; returns how
    many came."""
    got = 0
    deadline = time.monotonic() + seconds
    while got < count and time.monotonic() < deadline:
        frame = c.read_frame()
        if frame[0] & 0xC0 != 0x40:
            continue
        if frame[4:12] != b"%08d" % got:
            raise Failure("datagram %d arrived as %r%s" %
                          (got, frame[4:12], note))
        got += 1
    return got


def cmd_slowread(host, port, user, password, count, wait,
                 relay_rcvbuf=256 * 1024):
    """Back-pressure loses nothing that fits the relay socket's buffer:
    the peer sends `count` 500-byte datagrams to a client that reads
    nothing for `wait` seconds (less than stream-write-timeout), then
    reads: every datagram arrives, in order, once the server resumes.

    count must be more than the server holds for the client without
    pausing (its queue, its socket's send buffer, the client's window):
    then a server that does not pause drops some, and one that does
    leaves the rest in the relay socket, which is checked. The peer
    never sends more than the relay socket (SO_RCVBUF relay_rcvbuf,
    turnpiked's allocation-rcvbuf) has room for, measured here, so that
    what the kernel drops, when the server is slow to read, is not taken
    for the server's loss."""
    count = int(count)
    capacity, charge = udp_capacity(int(relay_rcvbuf), 500)
    c, peer, relay = small_window_client(host, port, user, password)
    # A margin for what the kernel charges beyond our measure.
    send_within(peer, relay, count, capacity - 8, charge)
    time.sleep(float(wait))
    queued, drops = udp_queue(relay[1])
    check("the server left datagrams in the relay socket while the client "
          "did not read (%d)" % (queued // charge), queued > 0)
    got = read_in_order(c, count, 10,
                        " (the relay socket dropped %d)" % drops)
    check("all %d datagrams arrived after the client read again" % count,
          got == count)
    c.sock.close()
    peer.close()
    return 0


def cmd_bigdata(host, port, user, password, count, size, burst):
    """A client that reads at once gets every one of `count` datagrams of
    `size` bytes that a peer sends in bursts of `burst`: more, in one
    burst, than the client's queue (stream-buffer) holds, so a server
    that read a whole burst in one batch would drop some. The peer sends
    a burst only when the relay socket has room for it (measured here),
    so that the kernel drops nothing."""
    count, size, burst = int(count), int(size), int(burst)
    capacity, charge = udp_capacity(256 * 1024, size)
    check("the relay socket holds a burst (%d of %d)" % (burst, capacity),
          burst + 4 <= capacity)
    c = StreamClient(host, port, user, password)
    code, reply = c.request(ALLOCATE, [UDP])
    check("Allocate", code == 0)
    relayed = parse_xor_address(reply[XOR_RELAYED_ADDRESS], b"")
    peer = peer_socket()
    bind_channel(c, peer.getsockname())
    relay = ("127.0.0.1", relayed[1])
    failures = []

    def send():
        try:
            send_within(peer, relay, count, capacity - 4, charge, size,
                        burst)
        except Exception as e:  # reported below, whatever it was
            failures.append("%s: %s" % (type(e).__name__, e))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    got = read_in_order(c, count, 15)
    sender.join(10)
    check("the peer sent all (%s)" % "; ".join(failures), not failures)
    check("all %d datagrams of %d bytes arrived" % (count, size),
          got == count)
    c.sock.close()
    peer.close()
    return 0


def fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def cmd_fingerprint(host, port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            print(fingerprint(s))
    return 0


def cmd_tlsinfo(host, port, version):
    """Connects with exactly TLS `version` (1.2 or 1.3) and prints the
    version and cipher negotiated, or "refused"."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[version]
    ctx.minimum_version = ctx.maximum_version = v
    try:
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with ctx.wrap_socket(raw) as s:
                print(s.version(), s.cipher()[0])
    except (ssl.SSLError, ConnectionResetError):
        print("refused")
    return 0


def cmd_hold(host, port, user, password, cafile, stop_file):
    c = StreamClient(host, port, user, password, cafile)
    code, _ = c.request(ALLOCATE, [UDP])
    check("Allocate", code == 0)
    peer = peer_socket()
    bind_channel(c, peer.getsockname())
    print("ready", fingerprint(c.sock), flush=True)
    sent = relayed = 0
    deadline = time.monotonic() + 60
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        sent += 1
        try:
            echo_once(c, peer, b"held-%d" % sent)
            relayed += 1
        except (Failure, socket.timeout, EOFError) as e:
            print("lost:", e, flush=True)
        time.sleep(0.05)
    print("relayed %d of %d" % (relayed, sent), flush=True)
    c.close()
    return 0 if relayed == sent and sent > 0 else 1


COMMANDS = {"relay": cmd_relay, "framing": cmd_framing, "stall": cmd_stall,
            "idle": cmd_idle, "noread": cmd_noread, "slowread": cmd_slowread,
            "bigdata": cmd_bigdata,
            "hold": cmd_hold,
            "fingerprint": cmd_fingerprint, "tlsinfo": cmd_tlsinfo}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    try:
        return COMMANDS[argv[1]](*argv[2:])
    except (Failure, TimeoutError, EOFError, OSError) as e:
        print("FAIL:", e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
