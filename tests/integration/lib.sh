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

# A UDP port that is free on 127.0.0.1 now (the kernel picks it).
free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    t.bind(("127.0.0.1", s.getsockname()[1]))
except OSError:
    pass
print(s.getsockname()[1])'
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
