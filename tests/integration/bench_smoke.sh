#!/bin/sh
# turnpike-bench against turnpiked on loopback: a second of one-way
# ChannelData, echo, Send indications and REST API credentials, and a short
# allocation-rate run, each ending in a RESULT line that parses and relayed
# something; the same over TCP and TLS (--transport). Wrong credentials, a
# port where nothing listens, a server that never answers, a certificate
# that does not verify, an unknown transport and a target off loopback end
# in a non-zero exit with a message, within a bounded time. This checks the
# tool, not performance.
. "$(dirname "$0")/lib.sh"
: "${TURNPIKE_BENCH:=$(pwd)/turnpike-bench}"
[ -x "$TURNPIKE_BENCH" ] || fail "turnpike-bench is not built: $TURNPIKE_BENCH"

make_cert server
make_cert other
PORT=$(free_port)
TLS_PORT=$(free_port)
SECRET=bench-secret-$$
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
listen = tcp://127.0.0.1:$PORT
listen = tls://127.0.0.1:$TLS_PORT
tls-cert = $WORK/server.pem
tls-key = $WORK/server.key
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

# wakeups_consistent NAME LINE: with schedstat, the server woke, at most
# twice per packet at this rate, and the CPU per wakeup times the wakeups
# per packet is the CPU per packet (within what printing 3 decimals of
# the wakeups per packet can lose).
wakeups_consistent() {
	[ -r /proc/self/schedstat ] || return 0
	positive "$1" server_wakeups_per_pkt "$2"
	positive "$1" server_us_per_wakeup "$2"
	awk -v w="$(value server_wakeups_per_pkt "$2")" \
		-v u="$(value server_us_per_wakeup "$2")" \
		-v p="$(value server_us_per_pkt "$2")" \
		'BEGIN { d = w * u - p; if (d < 0) d = -d; exit !(w <= 2 && d <= 0.0006 * u + 0.01 * p + 0.01) }' ||
		fail "$1: wakeups and CPU per wakeup do not add up: $2"
}

# run_bench NAME ARGS...: a run that must succeed, on $BENCH_PORT
# (default $PORT); sets LINE.
run_bench() {
	name=$1
	shift
	out=$(timeout 30 "$TURNPIKE_BENCH" -p "${BENCH_PORT:-$PORT}" \
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
	wakeups_consistent "flow $mode" "$LINE"
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

# TCP and TLS: each client on a connection of its own, the peer on UDP.
for transport in tcp tls; do
	BENCH_PORT=$PORT
	[ "$transport" = tls ] && BENCH_PORT=$TLS_PORT
	# Odd sizes: ChannelData is padded on a stream, both ways.
	for mode in "" "--echo -S 101" "-s --echo -S 37"; do
		# shellcheck disable=SC2086
		run_bench "$transport ${mode:-one-way}" --transport "$transport" \
			-u bench -w bench-pw -a 4 -d 1 -r 5000 $mode
		[ "$(value client "$LINE")" = "$transport" ] || fail "$transport: not client=$transport: $LINE"
		positive "$transport $mode" relayed "$LINE"
		positive "$transport $mode" sent "$LINE"
		number "$transport $mode" relayed_late "$LINE"
		[ "$(value malformed "$LINE")" = 0 ] || fail "$transport: malformed frames: $LINE"
		case $mode in *echo*)
			positive "$transport $mode" echoed "$LINE"
			positive "$transport $mode" rtt_p50_us "$LINE" ;;
		esac
	done
	run_bench "$transport flat out, 2 senders" --transport "$transport" \
		-W "$SECRET" -a 4 -T 2 -d 1 -S 1001
	positive "$transport flat out" relayed_pps "$LINE"
	run_bench "$transport alloc" --transport "$transport" -u bench -w bench-pw \
		-m alloc -n 20 -c 4
	[ "$(value "done" "$LINE")" = 20 ] || fail "$transport alloc: not 20 cycles: $LINE"
	[ "$(value client "$LINE")" = "$transport" ] || fail "$transport alloc: $LINE"
done
run_bench "tls, verified" --transport tls --ca "$WORK/server.pem" \
	-u bench -w bench-pw -a 2 -d 0.5
BENCH_PORT=

# The machine's wakeup cost, in process: at 500 datagrams a second a
# receiver blocked in recv() wakes about once per datagram, from another
# CPU and from its own, and each wakeup costs it some CPU (wide bounds: a
# busy machine may delay or preempt the receiver).
if [ "$(nproc)" -ge 2 ] && [ -r /proc/self/schedstat ]; then
	LINE=$(timeout 30 "$TURNPIKE_BENCH" -q -m wakeup -r 500 -d 1 | grep '^RESULT ') ||
		fail "wakeup mode failed"
	echo "wakeup: $LINE"
	for where in cross same; do
		n=$(value received_$where "$LINE")
		[ "$n" -ge 200 ] && [ "$n" -le 250 ] || fail "wakeup: $n of 250 datagrams $where: $LINE"
		positive wakeup ${where}_cpu_us_per_wakeup "$LINE"
		awk -v w="$(value ${where}_cpu_wakeups_per_datagram "$LINE")" \
			'BEGIN { exit !(w >= 0.2 && w <= 3) }' ||
			fail "wakeup: $where-CPU wakeups per datagram out of range: $LINE"
	done
fi
must_fail "wakeup, bad mode" 2 "wakeup" -m wakeups

must_fail "wrong password" 10 "401" -p "$PORT" -u bench -w wrong -d 1 127.0.0.1
must_fail "wrong secret" 10 "401" -p "$PORT" -W wrong -m alloc -n 5 127.0.0.1
must_fail "nothing listening" 10 "refused" -p "$(free_port)" -u bench -w bench-pw 127.0.0.1
must_fail "wrong password, tcp" 10 "401" --transport tcp -p "$PORT" -u bench -w wrong -d 1 127.0.0.1
must_fail "wrong password, tls" 10 "401" --transport tls -p "$TLS_PORT" -u bench -w wrong -d 1 127.0.0.1
must_fail "nothing listening, tcp" 10 "refused" --transport tcp -p "$(free_port)" -u bench -w bench-pw 127.0.0.1
must_fail "another certificate" 10 "certificate" --transport tls --ca "$WORK/other.pem" \
	-p "$TLS_PORT" -u bench -w bench-pw 127.0.0.1
must_fail "bad transport" 2 "--transport" --transport bogus -u bench -w bench-pw 127.0.0.1
must_fail "--ca without tls" 2 "--ca" --transport tcp --ca "$WORK/server.pem" -u bench -w bench-pw 127.0.0.1

# A server that never answers: a bound UDP socket nobody reads, and on the
# same port a TCP listener whose connections the kernel accepts and nobody
# reads either.
SILENT_PORT=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(("127.0.0.1", int(sys.argv[1])))
t.listen(64)
time.sleep(20)' "$SILENT_PORT" &
SILENT_PID=$!
trap 'kill $SILENT_PID 2>/dev/null || true; cleanup' EXIT INT TERM
sleep 0.3
must_fail "silent server" 6 "no answer" -p "$SILENT_PORT" -u bench -w bench-pw -t 1 127.0.0.1
must_fail "silent server, tcp" 6 "no answer" --transport tcp -p "$SILENT_PORT" \
	-u bench -w bench-pw -t 1 127.0.0.1
must_fail "silent server, tls" 6 "no answer" --transport tls -p "$SILENT_PORT" \
	-u bench -w bench-pw -t 1 127.0.0.1
kill "$SILENT_PID" 2>/dev/null || true

must_fail "off loopback" 2 "loopback" -u bench -w bench-pw 192.0.2.1
must_fail "bad size" 2 "-S" -u bench -w bench-pw -S 5 127.0.0.1

kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
