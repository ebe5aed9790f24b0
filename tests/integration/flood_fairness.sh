#!/bin/sh
# One flow faster than its worker can read must not have the worker to
# itself: an allocation's sockets are edge triggered and a busy one is
# made active again after a few batches (src/worker/udp.c), the worker
# polls again after a bounded number of callbacks (src/worker/worker.c),
# and a reply queued meanwhile goes out behind the callbacks that were
# active before it, of any kind (src/worker/reply.h). With one worker, turnpike-bench floods one
# allocation with Send indications flat out, more than the worker
# relays, while Binding requests to the listener must each be answered
# within half a second; then the same with 8 TCP clients flooding
# ChannelData, which keep their connections readable, level triggered,
# for as long as they send. (On a machine where the worker keeps up with the
# generator there is no backlog to starve behind; the loss printed at the
# end says whether the flood overran it.)
. "$(dirname "$0")/lib.sh"
: "${TURNPIKE_BENCH:=$(pwd)/turnpike-bench}"
[ -x "$TURNPIKE_BENCH" ] || fail "turnpike-bench is not built: $TURNPIKE_BENCH"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "listen = tcp://127.0.0.1:$PORT
relay-address = 127.0.0.1
user = flood:flood-pw
allow-peer = 127.0.0.0/8
workers = 1"
start_turnpiked "$WORK/turnpike.conf"

# probe_during_flood NAME FAILURE BENCH-ARGS...: turnpike-bench floods
# for 5 s with BENCH-ARGS while 20 Binding requests, 50 ms apart, must
# each be answered within half a second.
probe_during_flood() {
	name=$1 failure=$2
	shift 2
	timeout 60 "$TURNPIKE_BENCH" -q -p "$PORT" -u flood -w flood-pw -d 5 \
		--server-pid "$TURNPIKED_PID" "$@" 127.0.0.1 >"$WORK/$name.out" 2>&1 &
	bench_pid=$!
	sleep 1.5
	"$PYTHON" "$TESTS_DIR/stunprobe.py" prompt 127.0.0.1 "$PORT" 20 0.5 ||
		fail "$failure"
	wait "$bench_pid" || fail "turnpike-bench $*: $(cat "$WORK/$name.out")"
	grep '^RESULT ' "$WORK/$name.out" | tr ' ' '\n' |
		grep -E '^(offered_pps|relayed_pps|loss_pct)='
}

probe_during_flood send "the listener starved behind a flooded allocation" -a 1 -s
probe_during_flood tcp "a UDP reply waited behind TCP clients" -a 8 --transport tcp
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
