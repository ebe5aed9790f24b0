# Shared helpers for the integration tests: start turnpiked on loopback
# with a temporary configuration and stop it however the test ends.
# Every test sends traffic to 127.0.0.0/8 or ::1 only.
set -eu

: "${TURNPIKED:=$(pwd)/turnpiked}"
: "${PYTHON:=/usr/bin/python3}"
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-test.XXXXXX")
TURNPIKED_PID=
SKIP=77

cleanup() {
	if [ -n "$TURNPIKED_PID" ] && kill -0 "$TURNPIKED_PID" 2>/dev/null; then
		kill -TERM "$TURNPIKED_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$TURNPIKED_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$TURNPIKED_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$WORK/turnpiked.log" ]; then
		echo "--- turnpiked log (last 40 lines) ---" >&2
		tail -n 40 "$WORK/turnpiked.log" >&2
	fi
	exit 1
}

need() {
	command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $1 not installed" >&2; exit $SKIP; }
}

# A port free now for UDP and TCP on 0.0.0.0 and :: , outside the
# kernel's ephemeral range (where the TCP clients of tests running
# alongside get their local ports) and the default relay ports, and not
# handed out before in this test ($WORK/ports).
free_port() {
	"$PYTHON" - "$WORK/ports" <<'PY'
import os, random, socket, sys

low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
used = set()
if os.path.exists(sys.argv[1]):
    used = {int(p) for p in open(sys.argv[1]).read().split()}
candidates = [p for p in range(10000, 49152)
              if not low <= p <= high and p not in used]
if not candidates:  # an ephemeral range that covers them all
    candidates = [p for p in range(10000, 49152) if p not in used]


def free(family, address, kind, port):
    s = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


ipv6 = socket.has_ipv6 and os.path.exists("/proc/net/if_inet6")
for _ in range(200):
    port = random.choice(candidates)
    if all(free(socket.AF_INET, "0.0.0.0", kind, port) and
           (not ipv6 or free(socket.AF_INET6, "::", kind, port))
           for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
        with open(sys.argv[1], "a") as f:
            f.write("%d\n" % port)
        print(port)
        break
else:
    raise SystemExit("free_port: no free port found")
PY
}

# other_port PORT: a free port other than PORT.
other_port() {
	port=$(free_port)
	[ "$port" != "$1" ] || port=$(free_port)
	echo "$port"
}

# port_bound PORT: something holds UDP 127.0.0.1:PORT.
port_bound() {
	"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}

# start_peer: turnutils_peer on 127.0.0.1:$PEER_PORT in the background
# ($PEER_PID), returning once it is bound: under load it can take longer
# to start than turnutils_uclient takes to allocate, and the first
# messages would be lost.
start_peer() {
	turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$WORK/peer.log" 2>&1 &
	PEER_PID=$!
	trap 'kill $PEER_PID 2>/dev/null; cleanup' EXIT INT TERM
	wait_until 10 port_bound "$PEER_PORT" ||
		fail "turnutils_peer did not bind 127.0.0.1:$PEER_PORT"
}

# write_config FILE EXTRA-LINES: a config on loopback with the port in $PORT.
write_config() {
	cat >"$1" <<CONF
listen = udp://127.0.0.1:$PORT
realm = turnpike.test
log = stderr
log-level = debug
state-dir = $WORK/state
pid-file = $WORK/turnpiked.pid
$2
CONF
}

# Sends a Binding request until turnpiked answers (at most 5 s).
wait_ready() {
	"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT" ||
		fail "turnpiked did not answer on 127.0.0.1:$PORT"
}

start_turnpiked() {
	"$TURNPIKED" -f -c "$1" >"$WORK/turnpiked.log" 2>&1 &
	TURNPIKED_PID=$!
	wait_ready
}

# Open descriptors of a process.
fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# The pids of turnpiked's workers (children of the master).
worker_pids() {
	pgrep -P "$TURNPIKED_PID" | sort -n
}

# Allocations per worker index, from the store: "INDEX COUNT" lines.
allocations_per_worker() {
	"$STOREDUMP" "$WORK/state" | sed -n 's/^worker=\([0-9]*\) .*/\1/p' |
		sort -n | uniq -c | awk '{print $2, $1}'
}

# Waits (at most 10 s) until a file has a line matching a pattern.
wait_for_line() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# hold NAME HOST PORT USER PASSWORD COUNT [SECONDS]: turnclient.py holds
# COUNT allocations to HOST:PORT in the background (it does not refresh
# them) until `release NAME` (or SECONDS, default 60), then deletes them;
# its output is $WORK/NAME.out.
# Returns once all are allocated; fails the test if they are not within
# a minute.
hold() {
	hold_name=$1
	shift
	# Gone before the client starts, so that an earlier hold's "ready"
	# cannot be read while the shell has yet to truncate the file.
	rm -f "$WORK/stop-$hold_name" "$WORK/$hold_name.out"
	"$PYTHON" "$TESTS_DIR/turnclient.py" hold "$1" "$2" "$3" "$4" "$5" \
		"$WORK/stop-$hold_name" "${6:-60}" >"$WORK/$hold_name.out" 2>&1 &
	eval "HOLD_PID_$hold_name=\$!"
	for _ in 1 2 3 4 5 6; do
		wait_for_line "$WORK/$hold_name.out" ready && return 0
		grep -q FAIL "$WORK/$hold_name.out" && break
	done
	fail "$hold_name: allocations not ready: $(cat "$WORK/$hold_name.out")"
}

# release NAME [--lost]: ends a hold; its client must exit 0, unless
# --lost says the test took its allocations away.
release() {
	touch "$WORK/stop-$1"
	eval "hold_pid=\$HOLD_PID_$1"
	if [ "${2:-}" = --lost ]; then
		wait "$hold_pid" 2>/dev/null || true
	else
		wait "$hold_pid" || fail "$1: $(cat "$WORK/$1.out")"
	fi
}

# allocate USER PASSWORD: prints the code of one Allocate by USERNAME to
# 127.0.0.1:$PORT (0 = success); a successful one is deleted at once.
allocate() {
	"$PYTHON" -c "import sys; sys.path.insert(0, '$TESTS_DIR')
import turnclient
c = turnclient.Client('127.0.0.1', $PORT, sys.argv[1], sys.argv[2])
code, _ = c.allocate()
if code == 0:
    c.request(turnclient.REFRESH, [(turnclient.LIFETIME, b'\0\0\0\0')])
print(code)" "$1" "$2"
}

# json EXPR: evaluates a Python expression over the JSON on stdin (d).
json() {
	"$PYTHON" -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it
# succeeds; fails after SECONDS.
wait_until() {
	limit=$(($1 * 10))
	shift
	for _ in $(seq "$limit"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# run_uclient NAME PORT ARGS...: coturn's turnutils_uclient through the
# server on 127.0.0.1:PORT to turnutils_peer on $PEER_PORT, 40 messages per
# client; every one must come back. turnutils_uclient stops waiting a
# fixed time after its last send and counts what is still on its way as
# lost: on a loaded machine (make -j2 check on 2 cores) a TLS run lost
# 2-11 of 160 that turnpiked had relayed both ways (its counters). So a
# run that only lost messages is run once more, and must then lose none.
run_uclient() {
	name=$1
	port=$2
	shift 2
	uclient_once "$name" "$port" "$@" && return 0
	echo "$name: lost some ($uclient_lost), once more"
	uclient_once "$name" "$port" "$@" ||
		fail "$name: sent $uclient_sent, received $uclient_recv; turnutils_uclient said: $(echo "$uclient_out" | tail -25)"
}

# uclient_once NAME PORT ARGS...: one run_uclient run. Fails the test on
# an error; returns 1 when messages were lost (uclient_sent,
# uclient_recv, uclient_lost, uclient_out say what).
uclient_once() {
	name=$1
	port=$2
	shift 2
	uclient_out=$(timeout 60 turnutils_uclient -n 40 -l 120 -z 5 -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$port" "$@" 127.0.0.1 2>&1) ||
		fail "$name: turnutils_uclient failed: $(echo "$uclient_out" | tail -5)"
	summary=$(echo "$uclient_out" | grep 'tot_send_msgs=[0-9]*, tot_recv_msgs' | tail -1)
	uclient_lost=$(echo "$uclient_out" | grep 'Total lost packets' | tail -1)
	echo "$name: $summary; $uclient_lost"
	uclient_sent=$(echo "$summary" | sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p')
	uclient_recv=$(echo "$summary" | sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p')
	[ -n "$uclient_sent" ] && [ "$uclient_sent" -gt 0 ] ||
		fail "$name: nothing sent: $uclient_out"
	# Over TLS, turnutils_uclient tries TLS 1.0 and 1.1 first, which
	# the server refuses (RFC 8996); that alert is no error of ours.
	errors=$(echo "$uclient_out" | grep error | grep -v 'alert protocol version') || true
	[ -z "$errors" ] || fail "$name: errors: $(echo "$errors" | head -3)"
	[ "$uclient_sent" = "$uclient_recv" ]
}

# make_cert NAME: a self-signed certificate for 127.0.0.1 made on the fly,
# $WORK/NAME.pem and $WORK/NAME.key.
make_cert() {
	need openssl
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$WORK/$1.key" -out "$WORK/$1.pem" -days 2 -subj "/CN=$1" \
		-addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 ||
		fail "openssl could not make a test certificate"
}

# write_stream_config FILE EXTRA-LINES: write_config plus tcp:// on $PORT
# and tls:// on $TLS_PORT with $WORK/server.pem (make_cert server), two
# workers, a relay on loopback and the user alice.
write_stream_config() {
	write_config "$1" "listen = tcp://127.0.0.1:$PORT
listen = tls://127.0.0.1:$TLS_PORT
tls-cert = $WORK/server.pem
tls-key = $WORK/server.key
workers = 2
relay-address = 127.0.0.1
user = alice:wonderland
allow-peer = 127.0.0.0/8
$2"
}

# The SHA-256 of a PEM certificate, as streamclient.py fingerprint prints it.
cert_sha256() {
	openssl x509 -in "$1" -outform der | sha256sum | cut -d' ' -f1
}

# Sum of open descriptors and of resident kB over the workers.
workers_fds() {
	for pid in $(worker_pids); do fd_count "$pid"; done | awk '{s += $1} END {print s}'
}
workers_rss() {
	for pid in $(worker_pids); do awk '/VmRSS/ {print $2}' "/proc/$pid/status"; done |
		awk '{s += $1} END {print s}'
}
