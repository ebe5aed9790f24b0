#!/usr/bin/python3
"""Drives turnpiked with aioice's TURN client (a client we did not write).

  aioice_client.py HOST PORT USERNAME PASSWORD [COUNT [udp|tcp|tls CAFILE]]

Allocates a relay (over UDP, or over TCP or TLS to the server: aioice's
transport="tcp" and ssl, RFC 8656 section 3.1), sends COUNT datagrams through it to an echo peer on
127.0.0.1 and waits for every echo to come back through the relay; then
deletes the allocation. Exits 0 when all came back.
"""
import asyncio
import ssl
import sys

from aioice import turn


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Collector(asyncio.DatagramProtocol):
    def __init__(self):
        self.received = []
        self.event = asyncio.Event()
        self.expected = 0

    def connection_made(self, transport):
        pass

    def datagram_received(self, data, addr):
        self.received.append((data, addr))
        if len(self.received) >= self.expected:
            self.event.set()


async def run(host, port, username, password, count, transport="udp",
              cafile=None):
    loop = asyncio.get_running_loop()
    peer_transport, _ = await loop.create_datagram_endpoint(
        Echo, local_addr=("127.0.0.1", 0))
    peer_addr = peer_transport.get_extra_info("sockname")
    options = {}
    if transport in ("tcp", "tls"):
        options["transport"] = "tcp"
    if transport == "tls":
        options["ssl"] = ssl.create_default_context(cafile=cafile)
    transport, collector = await asyncio.wait_for(
        turn.create_turn_endpoint(Collector, server_addr=(host, port),
                                  username=username, password=password,
                                  **options),
        timeout=10)
    relayed = transport.get_extra_info("sockname")
    print("relayed address", relayed)
    collector.expected = count
    for i in range(count):
        transport.sendto(b"aioice-%04d" % i, peer_addr)
        await asyncio.sleep(0.002)
    try:
        await asyncio.wait_for(collector.event.wait(), timeout=10)
    except asyncio.TimeoutError:
        pass
    got = {data for data, _ in collector.received}
    want = {b"aioice-%04d" % i for i in range(count)}
    transport.close()
    await asyncio.sleep(0.2)
    peer_transport.close()
    missing = len(want - got)
    print("sent %d, echoed back %d, missing %d" % (count, len(got), missing))
    if any(addr != peer_addr for _, addr in collector.received):
        print("echo came back from the wrong peer address")
        return 1
    return 0 if missing == 0 else 1


def main(argv):
    if len(argv) < 5:
        print(__doc__)
        return 2
    count = int(argv[5]) if len(argv) > 5 else 50
    return asyncio.run(run(argv[1], int(argv[2]), argv[3], argv[4], count,
                           *argv[6:8]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
