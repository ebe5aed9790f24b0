#!/bin/sh
# One flow faster than its worker can read must not have the worker to
# itself: an allocation's sockets are edge triggered and a busy one is
# made active again after a few batches (src/worker/udp.c), and the
# worker polls again after a bounded number of callbacks
# (src/worker/worker.c), after which the replies queued meanwhile go out
# too (src/worker/reply.h). With one worker, turnpike-bench floods one
# allocation with Send indications flat out, more than the worker
# relays, while Binding requests to the listener must each be answered
# within half a second. (On a machine where the worker keeps up with the
# generator there is no backlog to starve behind; the loss printed at the
# end says whether the flood overran it.)
. "$(dirname "$0")/lib.sh"
: "${TURNPIKE_BENCH:=$(pwd)/turnpike-bench}"
[ -x "$TURNPIKE_BENCH" ] || fail "turnpike-bench is not built: $TURNPIKE_BENCH"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = flood:flood-pw
allow-peer = 127.0.0.0/8
workers = 1"
start_turnpiked "$WORK/turnpike.conf"

timeout 60 "$TURNPIKE_BENCH" -q -p "$PORT" -u flood -w flood-pw -a 1 -s -d 5 \
	--server-pid "$TURNPIKED_PID" 127.0.0.1 >"$WORK/bench.out" 2>&1 &
BENCH_PID=$!
sleep 1.5
"$PYTHON" "$TESTS_DIR/stunprobe.py" prompt 127.0.0.1 "$PORT" 20 0.5 ||
	fail "the listener starved behind a flooded allocation"
wait "$BENCH_PID" || fail "turnpike-bench: $(cat "$WORK/bench.out")"
grep '^RESULT ' "$WORK/bench.out" | tr ' ' '\n' | grep -E '^(offered_pps|relayed_pps|loss_pct)='
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
