#!/bin/sh
# turnpikectl serve-metrics: the counters over HTTP for Prometheus, read
# by the Prometheus client's own parser: the samples of
# `counters --prometheus`, over IPv4 and IPv6; a Binding moves
# rx_datagrams in the next scrape. One request per connection: pipelined
# requests get one answer and the close; a request that never ends, or
# one over 8 KiB, is cut off; past a cap of 32 connections a new one
# takes the slot of an answered or the oldest idle one, so a scrape is served while
# clients hold idle connections, and those go at the deadline.
# Bare-LF clients are served; HEAD gets headers only.
# Other paths 404, other methods 405; with turnpiked gone 503 with the
# reason (so is a state directory it may not read); SIGTERM ends the
# server with status 0. A bad or busy --listen,
# and --listen with another command, are refused.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf
PORT=$(free_port)
HTTP_PORT=$(other_port "$PORT")
write_config "$CONF" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland"
start_turnpiked "$CONF"

SERVE_PID=
V6_PID=
RO_PID=
trap 'for p in $SERVE_PID $V6_PID $RO_PID; do kill "$p" 2>/dev/null; done; cleanup' EXIT INT TERM
"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "127.0.0.1:$HTTP_PORT" \
	>"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
wait_for_line "$WORK/serve.out" "serving http://127.0.0.1:$HTTP_PORT/metrics" ||
	fail "serve-metrics did not start: $(cat "$WORK/serve.out" "$WORK/serve.err")"

# scrape [PATH [METHOD]]: "STATUS CONTENT-TYPE" on the first line, the
# body after.
scrape() {
	"$PYTHON" - "$HTTP_PORT" "${1:-/metrics}" "${2:-GET}" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request(sys.argv[3], sys.argv[2])
r = c.getresponse()
try:
    print(r.status, r.getheader("Content-Type"))
    sys.stdout.write(r.read().decode())
except BrokenPipeError:  # a reader that wanted the status line only
    pass
PY
}

# The families of a scrape and of `counters --prometheus`, parsed.
scrape >"$WORK/scrape"
head -n 1 "$WORK/scrape" | grep -qx '200 text/plain; version=0.0.4; charset=utf-8' ||
	fail "scrape: $(head -n 3 "$WORK/scrape")"
"$TURNPIKECTL" -c "$CONF" counters --prometheus >"$WORK/counters.prom" ||
	fail "counters --prometheus"
"$PYTHON" - "$WORK/scrape" "$WORK/counters.prom" <<'PY' || fail "the scrape does not parse as counters --prometheus does"
import sys
from prometheus_client.parser import text_string_to_metric_families

def families(path, skip_first_line):
    text = open(path).read()
    if skip_first_line:
        text = text.split("\n", 1)[1]
    return {f.name: f for f in text_string_to_metric_families(text)}

served = families(sys.argv[1], True)
printed = families(sys.argv[2], False)
assert set(served) == set(printed), set(served) ^ set(printed)
for name, family in served.items():
    assert family.type == printed[name].type, name
    if name != "turnpike_snapshot_time_seconds":
        assert family.samples == printed[name].samples, (name, family.samples)
assert served["turnpike_rx_datagrams"].type == "counter"
assert served["turnpike_allocations_live"].type == "gauge"
levels = {s.labels["level"] for s in
          served["turnpike_rate_limit_passed"].samples}
assert levels == {"allocation", "user", "server"}, levels
PY
echo "ok: a scrape has the samples of counters --prometheus"

# rx_datagrams moves with traffic (the snapshot is published once a
# second).
rx() {
	scrape | sed -n 's/^turnpike_rx_datagrams_total \([0-9]*\)$/\1/p'
}
before=$(rx)
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT" || fail "Binding"
moved() { [ "$(rx)" -gt "$before" ]; }
wait_until 5 moved || fail "rx_datagrams did not move: $before, then $(rx)"
echo "ok: a scrape after a Binding counts it"

[ "$(scrape /other | head -n 1 | cut -d' ' -f1)" = 404 ] || fail "/other: $(scrape /other)"
for method in POST HEAD PUT; do
	[ "$(scrape /metrics $method | head -n 1 | cut -d' ' -f1)" = 405 ] ||
		fail "$method /metrics: $(scrape /metrics $method | head -n 1)"
done
echo "ok: 404 for other paths, 405 for POST, HEAD and PUT"

# Clients that misbehave, on raw sockets.
"$PYTHON" - "$HTTP_PORT" <<'PY' || fail "misbehaving clients"
import select, socket, sys, time
port = int(sys.argv[1])

def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def read_all(s):
    """Everything until the server closes; then ours closes too, so that
    the server's drain ends and its slot is free."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            s.close()
            return data
        data += chunk

# Two requests in one write: one answer, then the close.
s = connect()
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
got = read_all(s)
assert got.count(b"HTTP/1.1 ") == 1, got[:200]
assert got.startswith(b"HTTP/1.1 200 "), got[:200]
print("ok: pipelined requests get one answer and the close")

# Over 8 KiB of headers: 431.
s = connect()
s.sendall(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000)
got = read_all(s)
assert got.startswith(b"HTTP/1.1 431 "), got[:200]
print("ok: a request over 8 KiB is refused (431)")

# A request that never ends is closed at the deadline (5 s), unanswered.
s = connect()
s.sendall(b"GET /metrics HTTP/1.1\r\n")
start = time.monotonic()
got = read_all(s)
took = time.monotonic() - start
assert got == b"" and 3 < took < 9, (got[:100], took)
print("ok: a request that never ends is closed after %.1f s" % took)

# HEAD: 405 and headers only (RFC 9112 section 6.3).
s = connect()
s.sendall(b"HEAD /metrics HTTP/1.1\r\n\r\n")
got = read_all(s)
assert got.startswith(b"HTTP/1.1 405 ") and got.endswith(b"\r\n\r\n"), got
print("ok: HEAD gets 405 and no body")

# A client that ends its lines with a bare LF is served.
s = connect()
s.sendall(b"GET /metrics HTTP/1.0\n\n")
got = read_all(s)
assert got.startswith(b"HTTP/1.1 200 "), got[:200]
print("ok: a request with bare LF line ends is served")

# 40 idle connections at once: past the cap of 32, each new one takes
# the slot of the oldest without an answer, so the first 8 are closed and
# the newest 32 held; a scrape then works at once, in the slot of the
# oldest of those. Once answered, the scrape's connection only lingers
# until the client closes: the next connection takes its slot rather than
# an idle one's. The rest go at the deadline.
time.sleep(0.5)  # the server sees the closes above


def closed(s):
    readable, _, _ = select.select([s], [], [], 0)
    if not readable:
        return False
    try:
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except ConnectionResetError:
        return True


def closed_become(socks, expected, within):
    """Polls until the indices of the closed sockets are `expected`."""
    deadline = time.monotonic() + within
    while True:
        gone = [i for i, s in enumerate(socks) if closed(s)]
        if gone == expected or time.monotonic() > deadline:
            return gone
        time.sleep(0.05)


idle = []
for _ in range(40):
    idle.append(connect())
    time.sleep(0.01)  # accepted in this order
gone = closed_become(idle, list(range(8)), 3)
assert gone == list(range(8)), gone
scrape = connect()
scrape.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
got = read_all(scrape)
assert got.startswith(b"HTTP/1.1 200 "), got[:200]
gone = closed_become(idle, list(range(9)), 3)
assert gone == list(range(9)), gone
print("ok: 40 idle connections: the 8 oldest closed, 32 held; a scrape "
      "is served at once, in the slot of the oldest")
idle.append(connect())
time.sleep(0.5)
gone = closed_become(idle, list(range(9)), 0)
assert gone == list(range(9)), gone
print("ok: the next connection took the answered scrape's slot")
time.sleep(5)
gone = closed_become(idle, list(range(41)), 3)
assert gone == list(range(41)), gone
print("ok: the idle connections are closed at the deadline")
PY
# Over IPv6 on ::1, when the host has it.
if "$PYTHON" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	V6_PORT=$(other_port "$HTTP_PORT")
	"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "[::1]:$V6_PORT" \
		>"$WORK/v6.out" 2>"$WORK/v6.err" &
	V6_PID=$!
	wait_for_line "$WORK/v6.out" "serving http://\[::1\]:$V6_PORT/metrics" ||
		fail "serve-metrics on [::1]: $(cat "$WORK/v6.out" "$WORK/v6.err")"
	"$PYTHON" - "$V6_PORT" <<'PY' || fail "a scrape over IPv6"
import http.client, sys
c = http.client.HTTPConnection("::1", int(sys.argv[1]), timeout=10)
c.request("GET", "/metrics")
r = c.getresponse()
assert r.status == 200 and b"turnpike_rx_datagrams_total" in r.read()
PY
	kill -TERM "$V6_PID"
	wait "$V6_PID" || fail "serve-metrics on [::1] did not exit 0"
	V6_PID=
	echo "ok: a scrape over IPv6"
fi

# A state directory it cannot read safely (read-only, in a mount
# namespace of its own; root only): 503 with the reason.
if unshare -m true 2>/dev/null; then
	RO_PORT=$(other_port "$HTTP_PORT")
	unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" "$1" &&
		mount -o remount,ro,bind "$1" && shift && exec "$@"' sh "$WORK/state" \
		"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "127.0.0.1:$RO_PORT" \
		>"$WORK/ro.out" 2>"$WORK/ro.err" &
	RO_PID=$!
	wait_for_line "$WORK/ro.out" "serving" ||
		fail "serve-metrics on a read-only state: $(cat "$WORK/ro.out" "$WORK/ro.err")"
	main_port=$HTTP_PORT
	HTTP_PORT=$RO_PORT
	scrape >"$WORK/ro"
	HTTP_PORT=$main_port
	kill -TERM "$RO_PID"
	wait "$RO_PID" || fail "serve-metrics on a read-only state did not exit 0"
	RO_PID=
	head -n 1 "$WORK/ro" | grep -q '^503 ' && grep -q "lock.mdb is on a read-only" "$WORK/ro" ||
		fail "a read-only state directory: $(cat "$WORK/ro")"
	echo "ok: 503 with the store's reason on a read-only state directory"
fi

# A second server on the same port, a bad --listen, --listen elsewhere.
rc=0
"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "127.0.0.1:$HTTP_PORT" \
	>/dev/null 2>"$WORK/busy.err" || rc=$?
[ "$rc" = 1 ] && grep -q "cannot listen on 127.0.0.1 port $HTTP_PORT" "$WORK/busy.err" ||
	fail "a busy port: exit $rc, $(cat "$WORK/busy.err")"
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 ':80' '[::1:80' 127.0.0.1:x \
	'::1:80' '127.0.0.1: 80' '127.0.0.1:+80' '[127.0.0.1]:80' '[::1]]:80'; do
	rc=0
	"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "$bad" >/dev/null 2>"$WORK/bad.err" || rc=$?
	[ "$rc" = 2 ] && grep -q -- "--listen wants" "$WORK/bad.err" ||
		fail "--listen $bad: exit $rc, $(cat "$WORK/bad.err")"
done
rc=0
"$TURNPIKECTL" -c "$CONF" status --listen 127.0.0.1:1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--listen with status: exit $rc"
echo "ok: a busy port, bad --listen values and --listen elsewhere are refused"

# turnpiked gone: 503 and the reason; the server stays up.
kill -TERM "$TURNPIKED_PID"
wait "$TURNPIKED_PID" 2>/dev/null || true
TURNPIKED_PID=
scrape >"$WORK/down"
head -n 1 "$WORK/down" | grep -q '^503 ' || fail "scrape with turnpiked gone: $(cat "$WORK/down")"
grep -q "pid file" "$WORK/down" || fail "no reason in the 503: $(cat "$WORK/down")"
echo "ok: 503 with the reason while turnpiked is not running"

kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
SERVE_PID=
[ "$rc" = 0 ] || fail "serve-metrics exited $rc on SIGTERM: $(cat "$WORK/serve.err")"
echo "ok: SIGTERM ends serve-metrics with status 0"
