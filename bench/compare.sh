#!/bin/sh
# bench/compare.sh: turnpiked and coturn's turnserver side by side, on
# loopback only, with turnpike-bench. Each scenario starts a fresh server,
# measures, and stops it by its pid; the two servers alternate within every
# repetition, and the table shows medians and the turnpike/coturn ratio.
#
# usage: bench/compare.sh [--quick] [-R repetitions] [-N noise] [-o file]
# -N: repeat a run once when other processes used more than this % of a
# core during it (default 25; 0: never). -o: the table (markdown) to a
# file, and every RESULT line to file.runs.
# environment: TURNPIKED, TURNPIKE_BENCH (default: ./turnpiked and
# ./turnpike-bench), TURNSERVER (default: turnserver), PYTHON, SCENARIOS
# (default: core echo send limits stream many alloc machine),
# TURNPIKE_LOG_LEVEL (default warning; info adds a line per allocation
# made and ended, as coturn's default logging does).
set -eu

: "${TURNPIKED:=$(pwd)/turnpiked}"
: "${TURNPIKE_BENCH:=$(pwd)/turnpike-bench}"
: "${TURNSERVER:=turnserver}"
: "${PYTHON:=/usr/bin/python3}"

REPS=3
QUICK=0
OUTPUT=
NOISE_MAX=25
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	-R) REPS=$2; shift ;;
	-o) OUTPUT=$2; shift ;;
	-N) NOISE_MAX=$2; shift ;;
	-h | --help)
		sed -n '2,15p' "$0"
		exit 0 ;;
	*) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $REPS in '' | *[!0-9]*) echo "compare.sh: -R wants a number" >&2; exit 2 ;; esac
case $NOISE_MAX in '' | *[!0-9]*) echo "compare.sh: -N wants a number" >&2; exit 2 ;; esac

# Run lengths: a few seconds each, so that the whole comparison takes a few
# minutes on 2 cores; --quick is a smoke run CI can afford.
# Repeating noisy runs stops after RETRY_BUDGET seconds, which bounds the
# whole at about 7 minutes however busy the machine is.
if [ "$QUICK" = 1 ]; then
	REPS=1 DUR=1 SEARCH_STEPS=2 ALLOC_N=300 BIG=1000 RETRY_BUDGET=20
else
	DUR=2 SEARCH_STEPS=4 ALLOC_N=2000 BIG=10000 RETRY_BUDGET=240
fi
FIXED_RATE=20000
# A high fixed rate both servers relay on one core: CPU per packet there
# compares the packet paths (limits on or off) without the generator's
# own limit in the way.
HIGH_RATE=120000
LOSS_MAX=0.5
SERVER_CPU=0
BENCH_CPU=1
USER_NAME=bench
PASSWORD=bench-pw-$$
REALM=bench.test
RELAY_MIN=10000
RELAY_MAX=29999

for tool in "$TURNPIKED" "$TURNPIKE_BENCH"; do
	[ -x "$tool" ] || { echo "compare.sh: $tool is not built (make)" >&2; exit 2; }
done
: "${SCENARIOS:=core echo send limits stream many alloc machine}"
for tool in "$TURNSERVER" taskset timeout "$PYTHON"; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "compare.sh: $tool not found (coturn: apt-get install coturn)" >&2; exit 2; }
done
case " $SCENARIOS " in *" stream "*)
	command -v openssl >/dev/null 2>&1 ||
		{ echo "compare.sh: openssl not found (the stream scenario makes a test certificate)" >&2; exit 2; } ;;
esac

# Descriptors: a server holds up to 2 per allocation, the generator 1.
# (dash and bash both have ulimit -n and -H.)
# shellcheck disable=SC3045
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# shellcheck disable=SC3045
FD_LIMIT=$(ulimit -n)
if [ "$FD_LIMIT" != unlimited ] && [ $((BIG * 2 + 200)) -gt "$FD_LIMIT" ]; then
	BIG=$(((FD_LIMIT - 200) / 2))
	echo "compare.sh: ulimit -n is $FD_LIMIT: the large scenario uses $BIG allocations" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/turnpike-compare.XXXXXX")
SERVER_PID=
cleanup() {
	stop_server
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port of 127.0.0.1 free for both UDP and TCP now: the servers listen
# with both on it in the stream scenario.
free_port() {
	"$PYTHON" -c 'import socket
for _ in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", s.getsockname()[1]))
    except OSError:
        continue
    print(s.getsockname()[1])
    break'
}

# A self-signed certificate for 127.0.0.1, made once, for both servers'
# TLS listeners.
make_cert() {
	[ -f "$WORK/server.pem" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$WORK/server.key" -out "$WORK/server.pem" -days 2 \
		-subj "/CN=turnpike-bench" -addext "subjectAltName=IP:127.0.0.1" \
		>/dev/null 2>&1 || { echo "compare.sh: openssl could not make a test certificate" >&2; exit 1; }
}

# pin CPU-LIST: taskset for the per-core scenarios, nothing when whole.
pin() {
	if [ "$1" = all ]; then echo; else echo "taskset -c $1"; fi
}

# Stops the server we started, by its pid; TERM lets turnpiked's master
# stop its workers, and any worker a KILL left behind goes too.
stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	children=$(pgrep -P "$SERVER_PID" 2>/dev/null || true)
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	wait "$SERVER_PID" 2>/dev/null || true
	for child in $children; do
		# Only if that pid is still one of the server's processes.
		case $(cat "/proc/$child/comm" 2>/dev/null) in
		turnpiked | turnserver) kill -KILL "$child" 2>/dev/null || true ;;
		esac
	done
	SERVER_PID=
}

# wait_ready NAME [PORT TRANSPORT]: the first allocation proves the
# server is up and takes our password (over UDP on $PORT by default).
wait_ready() {
	for _ in $(seq 40); do
		if "$TURNPIKE_BENCH" -q -m alloc -n 1 -c 1 -t 0.25 -p "${2:-$PORT}" \
			--transport "${3:-udp}" -u "$USER_NAME" -w "$PASSWORD" \
			127.0.0.1 >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "compare.sh: $1 did not start; its log:" >&2
	tail -n 20 "$WORK/$1.log" >&2
	exit 1
}

# With STREAMS=1, both servers also listen for TCP on $PORT and for TLS
# on $TLS_PORT (the stream scenario); the generator uses $BENCH_PORT.
stream_listeners() {
	[ "${STREAMS:-}" = 1 ] || return 0
	make_cert
	# The kernel may hand out the port it just gave for $PORT again.
	TLS_PORT=$PORT
	for _ in $(seq 20); do
		[ "$TLS_PORT" != "$PORT" ] && break
		TLS_PORT=$(free_port)
	done
	[ "$TLS_PORT" != "$PORT" ] || { echo "compare.sh: no second free port" >&2; exit 1; }
}

# Waits for the TCP and TLS listeners too, with STREAMS=1.
wait_streams() {
	[ "${STREAMS:-}" = 1 ] || return 0
	wait_ready "$1" "$PORT" tcp
	wait_ready "$1" "$TLS_PORT" tls
}

# start_turnpike CPUS WORKERS
start_turnpike() {
	SERVER_NAME=turnpike
	PORT=$(free_port)
	stream_listeners
	stream_conf=
	if [ "${STREAMS:-}" = 1 ]; then
		stream_conf="listen = tcp://127.0.0.1:$PORT
listen = tls://127.0.0.1:$TLS_PORT
tls-cert = $WORK/server.pem
tls-key = $WORK/server.key"
	fi
	cat >"$WORK/turnpike.conf" <<CONF
listen = udp://127.0.0.1:$PORT
relay-address = 127.0.0.1
relay-ports = $RELAY_MIN-$RELAY_MAX
realm = $REALM
user = $USER_NAME:$PASSWORD
allow-peer = 127.0.0.0/8
workers = $2
log = stderr
log-level = ${TURNPIKE_LOG_LEVEL:-warning}
state-dir = $WORK/state
pid-file = $WORK/turnpiked.pid
${LIMITS_CONF:-}
$stream_conf
CONF
	# shellcheck disable=SC2046
	$(pin "$1") "$TURNPIKED" -f -c "$WORK/turnpike.conf" >"$WORK/turnpike.log" 2>&1 &
	SERVER_PID=$!
	wait_ready turnpike
	wait_streams turnpike
}

# start_coturn CPUS THREADS (THREADS "default": coturn's own choice).
# In the foreground, no configuration file, its own database and pid file
# in $WORK: never the system service. Without STREAMS=1, UDP only; with
# it, TCP on the same port and TLS on $TLS_PORT, loopback only as the rest
# (--listening-ip), with the test certificate.
start_coturn() {
	SERVER_NAME=coturn
	PORT=$(free_port)
	stream_listeners
	threads=
	[ "$2" = default ] || threads="--relay-threads $2"
	transports="--no-tls --no-tcp"
	if [ "${STREAMS:-}" = 1 ]; then
		transports="--tls-listening-port $TLS_PORT --cert $WORK/server.pem --pkey $WORK/server.key"
	fi
	# shellcheck disable=SC2046,SC2086
	$(pin "$1") "$TURNSERVER" -n --listening-ip 127.0.0.1 --listening-port "$PORT" \
		--relay-ip 127.0.0.1 --min-port "$RELAY_MIN" --max-port "$RELAY_MAX" \
		--lt-cred-mech --user "$USER_NAME:$PASSWORD" --realm "$REALM" \
		--allow-loopback-peers --no-cli --no-dtls $transports \
		--no-tcp-relay --no-rfc5780 --no-stun-backward-compatibility \
		--userdb "$WORK/turndb" --pidfile "$WORK/turnserver.pid" \
		--log-file stdout $threads ${LIMITS_ARGS:-} >"$WORK/coturn.log" 2>&1 &
	SERVER_PID=$!
	wait_ready coturn
	wait_streams coturn
}

# run_once CPUS ARGS...: one turnpike-bench run; its RESULT line, or
# nothing after printing why it failed.
run_once() {
	cpus=$1
	shift
	# shellcheck disable=SC2046
	if out=$(timeout 120 $(pin "$cpus") "$TURNPIKE_BENCH" -q -p "${BENCH_PORT:-$PORT}" \
		-u "$USER_NAME" -w "$PASSWORD" --server-pid "$SERVER_PID" "$@" \
		127.0.0.1 2>"$WORK/bench.err"); then
		echo "$out" | grep '^RESULT '
	else
		echo "compare.sh: $SERVER_NAME: turnpike-bench $*: $(tail -n 1 "$WORK/bench.err")" >&2
	fi
}

# bench CPUS ARGS...: a run against the current server; prints the RESULT
# line, or nothing when the run failed. When other processes took more
# than NOISE_MAX % of a core meanwhile, the run is repeated once (while
# the retry budget lasts) and the quieter of the two is kept.
bench() {
	bench_cpus=$1
	shift
	line=$(run_once "$bench_cpus" "$@")
	[ -n "$line" ] || return 0
	noise=$(get other_cpu_pct "$line")
	if noisy "$noise"; then
		printf '    %-8s %-30s noisy (others %s%%): again\n' "$SERVER_NAME" "$*" "$noise" >&2
		again=$(run_once "$bench_cpus" "$@")
		if [ -n "$again" ] && [ "$(get other_cpu_pct "$again")" -lt "$noise" ]; then
			line=$again
		fi
	fi
	echo "$SERVER_NAME $* $line" >>"$WORK/runs.log"
	record noise_other_cpu_pct "$SERVER_NAME" "$(get other_cpu_pct "$line")"
	summarize "$*" "$line" >&2
	echo "$line"
}

# noisy PERCENT: above NOISE_MAX, with retry budget left.
noisy() {
	[ "$NOISE_MAX" -gt 0 ] && [ "$1" != - ] && [ "$1" -gt "$NOISE_MAX" ] &&
		[ $(($(date +%s) - START)) -lt "$RETRY_BUDGET" ]
}

# One line per run on the console: what was asked and what came out.
summarize() {
	case $2 in
	*mode=alloc*)
		printf '    %-8s %-30s %8s alloc/s  p99 %s us  %s us/alloc  others %s%%\n' \
			"$SERVER_NAME" "$1" "$(get allocs_per_s "$2")" \
			"$(get lat_p99_us "$2")" "$(get server_us_per_alloc "$2")" \
			"$(get other_cpu_pct "$2")" ;;
	*)
		printf '    %-8s %-30s offered %7s relayed %7s loss %7s%% %7s us/pkt  gen %s%%  others %s%%\n' \
			"$SERVER_NAME" "$1" "$(get offered_pps "$2")" \
			"$(get relayed_pps "$2")" "$(get loss_pct "$2")" \
			"$(get server_us_per_pkt "$2")" "$(get generator_cpu_pct "$2")" \
			"$(get other_cpu_pct "$2")" ;;
	esac
}

# get KEY RESULT-LINE
get() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# record METRIC SERVER VALUE
record() {
	[ -n "$3" ] && [ "$3" != - ] || return 0
	echo "$3" >>"$WORK/results/$1.$2"
}

# passes RESULT-LINE: loss under LOSS_MAX.
passes() {
	awk -v l="$(get loss_pct "$1")" -v m="$LOSS_MAX" 'BEGIN { exit !(l < m) }'
}

# search SERVER PREFIX ARGS...: the highest offered rate relayed with less
# than LOSS_MAX % loss. Flat out first; then down from its relayed rate
# until a rate passes, then bisection between the best pass and the
# lowest failure.
search() {
	server=$1 prefix=$2
	shift 2
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" "$@")
	[ -n "$line" ] || return 0
	record "${prefix}_flat_out_pps" "$server" "$(get relayed_pps "$line")"
	if passes "$line"; then
		record "${prefix}_max_pps" "$server" "$(get relayed_pps "$line")"
		if [ "${STREAMS:-}" = 1 ]; then
			# TCP's flow control holds the generator to what the
			# server takes: nothing is lost flat out, by design.
			echo "    note: over a stream flat out loses nothing; ${prefix}_max_pps is ${prefix}_flat_out_pps" |
				tee -a "$WORK/notes" >&2
			return 0
		fi
		# Everything offered flat out arrived: the generator, not the
		# server, set this rate; it is a lower bound.
		echo "    note: $server relayed all the generator offered flat out; ${prefix}_max_pps is a lower bound" |
			tee -a "$WORK/notes" >&2
		return 0
	fi
	fail=$(get offered_pps "$line")
	rate=$(get relayed_pps "$line")
	best=0
	for _ in 1 2 3 4; do
		line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$rate" "$@")
		[ -n "$line" ] || return 0
		if passes "$line"; then best=$rate; break; fi
		fail=$rate
		rate=$((rate * 7 / 10))
	done
	[ "$best" -gt 0 ] || return 0
	for _ in $(seq "$SEARCH_STEPS"); do
		rate=$(((best + fail) / 2))
		[ $((fail - best)) -gt $((best / 50)) ] || break
		line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$rate" "$@")
		[ -n "$line" ] || break
		if passes "$line"; then best=$rate; else fail=$rate; fi
	done
	record "${prefix}_max_pps" "$server" "$best"
}

# Per core: the server on CPU 0, the generator on CPU 1.
scenario_core() {
	server=$1
	start_"$server" "$SERVER_CPU" 1
	search "$server" channel
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$FIXED_RATE")
	record channel_us_per_pkt_at_20k "$server" "$(get server_us_per_pkt "$line")"
	# At this rate the server sleeps between batches: its cost is mostly
	# per wakeup, and the kernel's share of a wakeup is the same for
	# both servers.
	record channel_wakeups_per_pkt_at_20k "$server" "$(get server_wakeups_per_pkt "$line")"
	record channel_us_per_wakeup_at_20k "$server" "$(get server_us_per_wakeup "$line")"
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$HIGH_RATE")
	record channel_us_per_pkt_at_120k "$server" "$(get server_us_per_pkt "$line")"
	stop_server
}

# Rate limits on at every level, at rates that never bind (100 Mbit/s per
# allocation, 100 Gbit/s per user and for the server): what the limiter
# costs. coturn limits per session (--max-bps) and per server
# (--bps-capacity, from which each session reserves its max-bps); it has
# no per-user level.
scenario_limits() {
	server=$1
	LIMITS_CONF="allocation-rate = 100Mbit
user-rate = 100Gbit
total-rate = 100Gbit"
	LIMITS_ARGS="--max-bps 12500000 --bps-capacity 12500000000"
	start_"$server" "$SERVER_CPU" 1
	search "$server" limited
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$FIXED_RATE")
	record limited_us_per_pkt_at_20k "$server" "$(get server_us_per_pkt "$line")"
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$HIGH_RATE")
	record limited_us_per_pkt_at_120k "$server" "$(get server_us_per_pkt "$line")"
	stop_server
	LIMITS_CONF= LIMITS_ARGS=
}

# TURN over TCP and TLS per core (RFC 8656 §3.1): as the core scenario,
# each client on a connection of its own to the server's tcp:// or
# tls:// listener, relaying to the peer over UDP.
scenario_stream() {
	server=$1
	STREAMS=1
	start_"$server" "$SERVER_CPU" 1
	for transport in tcp tls; do
		BENCH_PORT=$PORT
		[ "$transport" = tls ] && BENCH_PORT=$TLS_PORT
		search "$server" "$transport" --transport "$transport"
		line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$FIXED_RATE" --transport "$transport")
		record "${transport}_us_per_pkt_at_20k" "$server" "$(get server_us_per_pkt "$line")"
	done
	stop_server
	STREAMS='' BENCH_PORT=''
}

scenario_echo() {
	server=$1
	start_"$server" "$SERVER_CPU" 1
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$FIXED_RATE" --echo)
	record echo_rtt_p50_us "$server" "$(get rtt_p50_us "$line")"
	record echo_rtt_p99_us "$server" "$(get rtt_p99_us "$line")"
	record echo_rtt_max_us "$server" "$(get rtt_max_us "$line")"
	record echo_loss_pct "$server" "$(get loss_pct "$line")"
	record echo_us_per_pkt "$server" "$(get server_us_per_pkt "$line")"
	stop_server
}

scenario_send() {
	server=$1
	start_"$server" "$SERVER_CPU" 1
	search "$server" send -s
	line=$(bench "$BENCH_CPU" -a 8 -d "$DUR" -r "$FIXED_RATE" -s)
	record send_us_per_pkt_at_20k "$server" "$(get server_us_per_pkt "$line")"
	stop_server
}

scenario_many() {
	server=$1
	for n in 10 "$BIG"; do
		start_"$server" "$SERVER_CPU" 1
		line=$(bench "$BENCH_CPU" -a "$n" -c 32 -d "$DUR")
		record "allocs_${n}_pps" "$server" "$(get relayed_pps "$line")"
		record "allocs_${n}_loss_pct" "$server" "$(get loss_pct "$line")"
		record "allocs_${n}_us_per_pkt" "$server" "$(get server_us_per_pkt "$line")"
		if [ "$n" = "$BIG" ]; then
			record "allocs_${n}_kib_per_alloc" "$server" "$(get server_kib_per_alloc "$line")"
			record "allocs_${n}_fds_per_alloc" "$server" "$(get server_fds_per_alloc "$line")"
		fi
		stop_server
	done
}

scenario_alloc() {
	server=$1
	start_"$server" "$SERVER_CPU" 1
	line=$(bench "$BENCH_CPU" -m alloc -n "$ALLOC_N" -c 8)
	record allocs_per_s "$server" "$(get allocs_per_s "$line")"
	record alloc_p50_us "$server" "$(get lat_p50_us "$line")"
	record alloc_p99_us "$server" "$(get lat_p99_us "$line")"
	record us_per_alloc "$server" "$(get server_us_per_alloc "$line")"
	stop_server
}

# Whole machine: turnpiked with workers = auto, coturn with its default
# threads; nothing pinned.
scenario_machine() {
	server=$1
	if [ "$server" = turnpike ]; then start_turnpike all auto; else start_coturn all default; fi
	line=$(bench all -a 32 -d "$DUR")
	record machine_flat_out_pps "$server" "$(get relayed_pps "$line")"
	record machine_loss_pct "$server" "$(get loss_pct "$line")"
	record machine_us_per_pkt "$server" "$(get server_us_per_pkt "$line")"
	stop_server
}

median() {
	[ -f "$1" ] || { echo -; return; }
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Which way is better, from the metric's name.
better() {
	case $1 in
	*_pps | *_per_s) echo higher ;;
	*) echo lower ;;
	esac
}

report() {
	printf '| %-30s | %12s | %12s | %8s | %6s |\n' metric turnpike coturn ratio better
	printf '|%s|%s|%s|%s|%s|\n' -------------------------------- -------------- \
		-------------- ---------- --------
	for metric in $METRICS; do
		[ -f "$WORK/results/$metric.turnpike" ] || [ -f "$WORK/results/$metric.coturn" ] || continue
		t=$(median "$WORK/results/$metric.turnpike")
		c=$(median "$WORK/results/$metric.coturn")
		r=$(awk -v t="$t" -v c="$c" 'BEGIN {
			if (t == "-" || c == "-" || c + 0 == 0) print "-"; else printf "%.2f", t / c }')
		printf '| %-30s | %12s | %12s | %8s | %6s |\n' "$metric" "$t" "$c" "$r" "$(better "$metric")"
	done
}

# The table's rows, in the order of the scenarios.
METRICS="channel_flat_out_pps channel_max_pps channel_us_per_pkt_at_20k
channel_wakeups_per_pkt_at_20k channel_us_per_wakeup_at_20k
channel_us_per_pkt_at_120k
echo_rtt_p50_us echo_rtt_p99_us echo_rtt_max_us echo_loss_pct echo_us_per_pkt
send_flat_out_pps send_max_pps send_us_per_pkt_at_20k
limited_flat_out_pps limited_max_pps limited_us_per_pkt_at_20k
limited_us_per_pkt_at_120k
tcp_flat_out_pps tcp_max_pps tcp_us_per_pkt_at_20k
tls_flat_out_pps tls_max_pps tls_us_per_pkt_at_20k
allocs_10_pps allocs_10_loss_pct allocs_10_us_per_pkt
allocs_${BIG}_pps allocs_${BIG}_loss_pct allocs_${BIG}_us_per_pkt
allocs_${BIG}_kib_per_alloc allocs_${BIG}_fds_per_alloc
allocs_per_s alloc_p50_us alloc_p99_us us_per_alloc
machine_flat_out_pps machine_loss_pct machine_us_per_pkt
noise_other_cpu_pct"
SERVER_NAME=

mkdir -p "$WORK/results"
START=$(date +%s)
echo "turnpike vs coturn: $REPS repetition(s), ${DUR} s runs, $(nproc) CPUs, Linux $(uname -r)"
echo "per-core scenarios: server on CPU $SERVER_CPU, turnpike-bench on CPU $BENCH_CPU"
for rep in $(seq "$REPS"); do
	# Alternate who goes first, so that drift in the machine's load
	# does not always favour the same server.
	if [ $((rep % 2)) = 1 ]; then order="turnpike coturn"; else order="coturn turnpike"; fi
	for scenario in $SCENARIOS; do
		echo "  repetition $rep: $scenario"
		for server in $order; do
			"scenario_$scenario" "$server"
		done
	done
done
TABLE=$(report)
echo
echo "the rate limiter alone (turnpike-bench -m limiter, in process):"
"$TURNPIKE_BENCH" -m limiter -d 2 -S 100 | grep -v '^RESULT' || true
echo
echo "what this machine charges a thread per wakeup (turnpike-bench -m wakeup, in process):"
"$TURNPIKE_BENCH" -m wakeup -r "$FIXED_RATE" -d 2 | grep -v '^RESULT' || true
echo
echo "$TABLE"
echo
[ -f "$WORK/notes" ] && sort -u "$WORK/notes"
echo "*_pps: relayed packets per second; *_us_per_pkt, us_per_alloc: server CPU"
echo "microseconds per relayed packet or per allocation; *_us: latency;"
echo "*_wakeups_per_pkt: times the server was scheduled in per relayed packet; *_us_per_wakeup: its CPU per wakeup."
echo "noise_other_cpu_pct: CPU that other processes used during the runs, in % of a core."
echo "limited_*: rate limits set at every level but never binding (coturn: --max-bps, --bps-capacity)."
echo "tcp_*, tls_*: clients over TCP and TLS, the peer over UDP; relayed pps counts what arrived while the senders ran."
echo "Medians of $REPS repetition(s); ratio = turnpike / coturn; $(($(date +%s) - START)) s in all."
on=$(median "$WORK/results/limited_max_pps.turnpike")
off=$(median "$WORK/results/channel_max_pps.turnpike")
on_cpu=$(median "$WORK/results/limited_us_per_pkt_at_120k.turnpike")
off_cpu=$(median "$WORK/results/channel_us_per_pkt_at_120k.turnpike")
awk -v on="$on" -v off="$off" -v on_cpu="$on_cpu" -v off_cpu="$off_cpu" 'BEGIN {
	if (on != "-" && off != "-" && off > 0)
		printf "turnpike with limits on / off: max relayed pps %.2f", on / off
	if (on_cpu != "-" && off_cpu != "-" && on_cpu > 0)
		printf "; packets per CPU second at 120k pps %.2f", off_cpu / on_cpu
	print "" }' </dev/null
if [ -n "$OUTPUT" ]; then
	echo "$TABLE" >"$OUTPUT"
	cp "$WORK/runs.log" "$OUTPUT.runs"
fi
