#!/bin/sh
# turnpike-bench against turnpiked on loopback: a second of one-way
# ChannelData, echo, Send indications and REST API credentials, and a short
# allocation-rate run, each ending in a RESULT line that parses and relayed
# something. Wrong credentials, a port where nothing listens, a server that
# never answers and a target off loopback end in a non-zero exit with a
# message, within a bounded time. This checks the tool, not performance.
. "$(dirname "$0")/lib.sh"
: "${TURNPIKE_BENCH:=$(pwd)/turnpike-bench}"
[ -x "$TURNPIKE_BENCH" ] || fail "turnpike-bench is not built: $TURNPIKE_BENCH"

PORT=$(free_port)
SECRET=bench-secret-$$
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = bench:bench-pw
auth-secret = $SECRET
allow-peer = 127.0.0.0/8
workers = 1"
start_turnpiked "$WORK/turnpike.conf"

# value KEY LINE: the value of KEY in a RESULT line.
value() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# positive NAME KEY LINE: KEY is a number above zero.
positive() {
	v=$(value "$2" "$3")
	awk -v v="$v" 'BEGIN { exit !(v ~ /^[0-9]+(\.[0-9]+)?$/ && v + 0 > 0) }' ||
		fail "$1: $2 is '$v' in: $3"
}

# number NAME KEY LINE: KEY is a number (a CPU time may round to 0).
number() {
	value "$2" "$3" | grep -Eq '^[0-9]+(\.[0-9]+)?$' || fail "$1: $2 in: $3"
}

# run_bench NAME ARGS...: a run that must succeed; sets LINE.
run_bench() {
	name=$1
	shift
	out=$(timeout 30 "$TURNPIKE_BENCH" -p "$PORT" \
		--server-pid "$TURNPIKED_PID" "$@" 127.0.0.1 2>"$WORK/bench.err") ||
		fail "$name: turnpike-bench failed: $(cat "$WORK/bench.err")"
	LINE=$(echo "$out" | grep '^RESULT ' | tail -n 1)
	[ -n "$LINE" ] || fail "$name: no RESULT line in: $out"
	echo "$name: $LINE"
}

# must_fail NAME MAX-SECONDS PATTERN ARGS...: exits 1 or 2, in time, and
# says something matching PATTERN.
must_fail() {
	name=$1 limit=$2 pattern=$3
	shift 3
	start=$(date +%s)
	set +e
	timeout 30 "$TURNPIKE_BENCH" "$@" >"$WORK/bench.out" 2>"$WORK/bench.err"
	rc=$?
	set -e
	elapsed=$(($(date +%s) - start))
	echo "$name: exit $rc after ${elapsed} s: $(cat "$WORK/bench.err")"
	[ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "$name: exit status $rc"
	[ "$elapsed" -le "$limit" ] || fail "$name: took $elapsed s"
	grep -q -e "$pattern" "$WORK/bench.err" || fail "$name: no '$pattern' in the message"
}

for mode in "" "--echo" "-s" "-s --echo"; do
	# shellcheck disable=SC2086
	run_bench "flow ${mode:-one-way}" -u bench -w bench-pw -a 4 -d 1 -r 5000 $mode
	positive "flow $mode" relayed "$LINE"
	positive "flow $mode" sent "$LINE"
	positive "flow $mode" server_procs "$LINE"
	number "flow $mode" server_cpu_s "$LINE"
	value loss_pct "$LINE" | grep -Eq '^-?[0-9]+\.[0-9]+$' || fail "loss_pct in $LINE"
	case $mode in *echo*)
		positive "flow $mode" echoed "$LINE"
		positive "flow $mode" rtt_p50_us "$LINE" ;;
	esac
done

run_bench "REST API flat out" -W "$SECRET" -u smoke -a 2 -d 1 -S 200
positive "REST API" relayed_pps "$LINE"

run_bench "alloc" -u bench -w bench-pw -m alloc -n 50 -c 4
[ "$(value "done" "$LINE")" = 50 ] || fail "alloc: not 50 cycles: $LINE"
positive alloc allocs_per_s "$LINE"
positive alloc lat_p99_us "$LINE"

must_fail "wrong password" 10 "401" -p "$PORT" -u bench -w wrong -d 1 127.0.0.1
must_fail "wrong secret" 10 "401" -p "$PORT" -W wrong -m alloc -n 5 127.0.0.1
must_fail "nothing listening" 10 "refused" -p "$(free_port)" -u bench -w bench-pw 127.0.0.1

# A server that never answers: a bound socket nobody reads.
SILENT_PORT=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(20)' "$SILENT_PORT" &
SILENT_PID=$!
trap 'kill $SILENT_PID 2>/dev/null || true; cleanup' EXIT INT TERM
sleep 0.3
must_fail "silent server" 6 "no answer" -p "$SILENT_PORT" -u bench -w bench-pw -t 1 127.0.0.1
kill "$SILENT_PID" 2>/dev/null || true

must_fail "off loopback" 2 "loopback" -u bench -w bench-pw 192.0.2.1
must_fail "bad size" 2 "-S" -u bench -w bench-pw -S 5 127.0.0.1

kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
