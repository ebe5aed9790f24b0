#!/bin/sh
# Quotas hold across workers (DESIGN.md section 4): with 4 workers and
# user-quota = 3, exactly 3 of 12 Allocates from one user on 12 source
# ports succeed and the rest get 486 wherever they land; after one is
# deleted one more succeeds; each refusal is logged. The same for
# total-quota.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$WORK/user.conf" "relay-address = 127.0.0.1
workers = 4
user = alice:wonderland
user-quota = 3"
start_turnpiked "$WORK/user.conf"
[ "$(worker_pids | wc -l)" -eq 4 ] || fail "want 4 workers, have $(worker_pids | wc -l)"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 12 3 ||
	fail "user-quota across workers"
# Each refusal is logged with the user and the client, whichever worker
# it reached (a retransmitted request may be refused twice).
refused=$(grep -c "notice worker [0-9]*: allocation refused user=alice client=127.0.0.1:[0-9]* code=486 reason=quota$" \
	"$WORK/turnpiked.log" || true)
[ "$refused" -ge 9 ] || fail "$refused of 9 quota refusals logged"
kill -TERM "$TURNPIKED_PID"
wait "$TURNPIKED_PID" || true

PORT=$(free_port)
write_config "$WORK/total.conf" "relay-address = 127.0.0.1
workers = 4
user = alice:wonderland
total-quota = 5"
start_turnpiked "$WORK/total.conf"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 12 5 ||
	fail "total-quota across workers"
echo "PASS"
