#!/bin/sh
# Rate limits through turnpiked (DESIGN.md section 5), measured at the peer
# by turnpike-bench: a configured allocation-rate is what the peer receives
# within 2% under both policies, in both directions; a user-rate holds for
# the sum of one user's allocations spread over two workers within 1%; a
# total-pps holds server-wide within 1%. Pacing delays (counters show it)
# where drop drops; a reload changes the rates of live allocations' levels;
# allocation-queue and pace-buffers bound how long packets wait.
#
# Offered load is twice the limit, so what the peer receives is known to
# the packet: the rate over the run, plus the burst the bucket starts
# with, plus what max-delay still holds when the sender stops (the bench
# waits for it). The tolerance is left for the machine: a pause of the
# load generator or of a worker wastes what the bucket cannot bank, and
# with pacing max-delay is that bank. The phases across workers, with 1%,
# pace 100 ms ahead (a pause of some 100 ms was seen on a shared CI
# machine), and a run whose generator fell further behind than the bank
# while it came out short is run again (rerun_if_starved).
. "$(dirname "$0")/lib.sh"
: "${TURNPIKE_BENCH:=$(pwd)/turnpike-bench}"
: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
[ -x "$TURNPIKE_BENCH" ] || fail "turnpike-bench is not built: $TURNPIKE_BENCH"

PORT=$(free_port)
SIZE=200
SECONDS_RUN=4

base_config() {
	write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = rate:rate-pw
allow-peer = 127.0.0.0/8
workers = 2
$1"
}

# bench ARGS...: one run; sets LINE to its RESULT line.
bench() {
	LINE=$(timeout 60 "$TURNPIKE_BENCH" -p "$PORT" -u rate -w rate-pw \
		-S "$SIZE" -d "$SECONDS_RUN" "$@" 127.0.0.1 2>"$WORK/bench.err" |
		grep '^RESULT ') || fail "turnpike-bench failed: $(cat "$WORK/bench.err")"
	echo "  $LINE"
}

# leaves RATE EDGE_MS: what a limit of RATE packets a second lets through
# in SECONDS_RUN when offered more: the burst plus max-delay is EDGE_MS.
leaves() {
	echo $(($1 * (SECONDS_RUN * 1000 + $2) / 1000))
}

value() {
	echo "$LINE" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# rerun_if_starved BANK_MS FIELD WANT PERCENT ARGS...: after a bench run,
# while FIELD is short of WANT by more than PERCENT% and the generator fell
# behind its schedule by more than BANK_MS (the limit's burst plus
# max-delay: what the bucket and its queue can bank), runs the bench with
# ARGS again, at most twice: the shortfall is the pause's, not the
# limit's. A run short without such a pause, or over, is judged as is.
rerun_if_starved() {
	bank_ms=$1 field=$2 want=$3 pct=$4
	shift 4
	for _ in 1 2; do
		awk -v got="$(value "$field")" -v want="$want" -v pct="$pct" \
			-v lag="$(value send_lag_max_us)" -v bank="$bank_ms" 'BEGIN {
			exit !(got < want * (1 - pct / 100) && lag > bank * 1000) }' ||
			return 0
		echo "  the generator fell $(value send_lag_max_us) us behind, more than the $bank_ms ms banked: again"
		bench "$@"
	done
}

# within NAME GOT WANT PERCENT: |GOT - WANT| <= PERCENT% of WANT.
within() {
	awk -v got="$2" -v want="$3" -v pct="$4" 'BEGIN {
		d = got - want; if (d < 0) d = -d
		exit !(d <= want * pct / 100) }' ||
		fail "$1: got $2 packets, want $3 within $4%"
	echo "ok: $1: $2 packets, want $3 (within $4%)"
}

# reload_with EXTRA-LINES: rewrites the config and reloads it.
reload_with() {
	base_config "$1"
	"$TURNPIKECTL" -c "$WORK/turnpike.conf" reload >/dev/null ||
		fail "reload refused: $1"
}

status_json() {
	"$TURNPIKECTL" -c "$WORK/turnpike.conf" status --json
}

# rate_counter LEVEL FIELD: the total of a rate-limit counter
# (rate_counter queue_dropped "": the paced packets dropped at a bound).
rate_counter() {
	status_json | "$PYTHON" -c 'import json, sys
s = json.load(sys.stdin)["total"]["rate_limits"]
print(s[sys.argv[1]][sys.argv[2]] if sys.argv[2] else s[sys.argv[1]])' "$1" "$2"
}

# 800 kbit/s = 100,000 bytes/s = 500 packets/s of 200 bytes.
base_config "allocation-rate = 800kbit
allocation-burst = 5ms
max-delay = 20ms
rate-policy = pace"
start_turnpiked "$WORK/turnpike.conf"

echo "allocation-rate, pace, one way"
bench -a 1 -r 1000
rerun_if_starved 25 peer "$(leaves 500 25)" 2 -a 1 -r 1000
within "pace to the peer" "$(value peer)" "$(leaves 500 25)" 2
# The snapshot is published once a second.
sleep 1.5
delayed=$(rate_counter allocation delayed)
[ "$delayed" -gt 100 ] || fail "pace: only $delayed packets were delayed"
dropped=$(rate_counter allocation dropped)
echo "ok: pace delayed $delayed packets and dropped $dropped"

echo "allocation-rate, pace, both directions"
bench -a 1 -r 1000 --echo
rerun_if_starved 25 peer "$(leaves 500 25)" 2 -a 1 -r 1000 --echo
within "pace to the peer (echo)" "$(value peer)" "$(leaves 500 25)" 2
# Towards the client the rate counts the 4-byte ChannelData header too:
# 100,000 / 204 packets a second.
within "pace to the client" "$(value echoed)" $((100000 * SECONDS_RUN / 204)) 2

echo "allocation-rate, drop"
reload_with "allocation-rate = 800kbit
allocation-burst = 5ms
rate-policy = drop"
sleep 1.5
before=$(rate_counter allocation dropped)
bench -a 1 -r 1000
rerun_if_starved 5 peer "$(leaves 500 5)" 2 -a 1 -r 1000
within "drop to the peer" "$(value peer)" "$(leaves 500 5)" 2
sleep 1.5
after=$(rate_counter allocation dropped)
[ $((after - before)) -gt $((400 * SECONDS_RUN)) ] ||
	fail "drop: only $((after - before)) packets counted as dropped"
echo "ok: drop dropped $((after - before)) packets"
# The same figure for Prometheus (turnpikectl counters --prometheus),
# read by the Prometheus client's parser: nothing moves between the two
# reads, for no traffic flows.
"$TURNPIKECTL" -c "$WORK/turnpike.conf" counters --prometheus |
	"$PYTHON" -c 'import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    if f.name == "turnpike_rate_limit_dropped":
        print(*[int(s.value) for s in f.samples
                if s.labels == {"level": "allocation"}])' >"$WORK/prom_dropped"
[ "$(cat "$WORK/prom_dropped")" = "$(rate_counter allocation dropped)" ] ||
	fail "--prometheus: allocation drops $(cat "$WORK/prom_dropped"), status $after"
echo "ok: --prometheus shows the $after drops at the allocation level"

echo "user-rate over two workers"
# 1.6 Mbit/s = 1,000 packets/s for the user; 16 allocations offer 2,000.
# The kernel's hash spreads them over the 2 workers; with 8 all landed on
# one in about 1 run of 128 (seen once), with 16 in 1 of 32,768.
reload_with "user-rate = 1600kbit
user-burst = 2ms
max-delay = 100ms
rate-policy = pace"
SECONDS_RUN=5
bench -a 16 -r 2000 >"$WORK/user.out" &
BENCH_PID=$!
sleep 2
per_worker=$(allocations_per_worker)
spread=$(echo "$per_worker" | grep -c .)
wait "$BENCH_PID" || fail "turnpike-bench failed"
LINE=$(sed -n 's/^  //p' "$WORK/user.out")
echo "  allocations per worker (index count): $(echo "$per_worker" | tr '\n' ' ')"
[ "$spread" -eq 2 ] || fail "the user's allocations did not reach both workers"
rerun_if_starved 102 peer "$(leaves 1000 102)" 1 -a 16 -r 2000
within "user-rate, 16 allocations in 2 workers" "$(value peer)" "$(leaves 1000 102)" 1

echo "total-pps"
reload_with "total-pps = 700
total-burst = 2ms
max-delay = 100ms
rate-policy = pace"
bench -a 6 -r 1400
rerun_if_starved 102 peer "$(leaves 700 102)" 1 -a 6 -r 1400
within "total-pps, 6 allocations" "$(value peer)" "$(leaves 700 102)" 1

# The queue bounds: with max-delay 1 s a paced packet could wait a second;
# allocation-queue (4 KiB: 18 packets of 200 bytes and their address) or
# pace-buffers (16 for the worker) cut the wait to tens of milliseconds,
# dropping what does not fit, and the rate still holds.
SECONDS_RUN=4
for bound in "allocation-queue = 4KiB" "pace-buffers = 16"; do
	echo "$bound"
	reload_with "allocation-rate = 800kbit
allocation-burst = 5ms
max-delay = 1s
$bound"
	sleep 1.5
	before=$(rate_counter queue_dropped "")
	bench -a 1 -r 1000 --echo
	# What the bound holds: 18 or 16 packets, some 35 ms at 500 a second.
	rerun_if_starved 35 peer $((500 * SECONDS_RUN)) 2 -a 1 -r 1000 --echo
	within "$bound: to the peer" "$(value peer)" $((500 * SECONDS_RUN)) 2
	p99=$(value rtt_p99_us)
	awk -v v="$p99" 'BEGIN { exit !(v + 0 < 150000) }' ||
		fail "$bound: round trips of $p99 us: the queue was not bounded"
	sleep 1.5
	after=$(rate_counter queue_dropped "")
	[ $((after - before)) -gt 1000 ] ||
		fail "$bound: only $((after - before)) packets dropped for a full queue"
	echo "ok: $bound: p99 round trip $p99 us, $((after - before)) dropped at the bound"
done

echo "limits off after a reload"
reload_with ""
bench -a 2 -r 1400
within "no limit" "$(value peer)" $((1400 * SECONDS_RUN)) 1

kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
