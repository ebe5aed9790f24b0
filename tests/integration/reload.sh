#!/bin/sh
# SIGHUP under load (DESIGN.md section 7): a valid file applies users and
# peer policy in every worker without dropping an allocation or a packet;
# a file with an error is refused, logged, and the running configuration
# stays.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
base="relay-address = 127.0.0.1
workers = 2
allow-peer = 127.0.0.0/8"
write_config "$WORK/turnpike.conf" "$base
user = alice:wonderland"
start_turnpiked "$WORK/turnpike.conf"

"$PYTHON" "$TESTS_DIR/turnclient.py" relay 127.0.0.1 "$PORT" alice wonderland \
	8 "$WORK/stop" 60 >"$WORK/relay.out" 2>&1 &
RELAY_PID=$!
wait_for_line "$WORK/relay.out" ready || fail "relay clients: $(cat "$WORK/relay.out")"

# bob is unknown until the reload.
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" bob builder 1 0 >/dev/null ||
	true
write_config "$WORK/turnpike.conf" "$base
user = bob:builder"
kill -HUP "$TURNPIKED_PID"
sleep 1
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" bob builder 1 1 ||
	fail "a user added by reload cannot allocate"
# alice was removed: her live allocations stay, a new one is refused.
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 1 0 |
	grep -q "0 succeeded" || fail "a user removed by reload can still allocate"

# A broken file is refused and changes nothing.
cp "$WORK/turnpike.conf" "$WORK/good.conf"
echo "relay-ports = 9-3" >>"$WORK/turnpike.conf"
kill -HUP "$TURNPIKED_PID"
sleep 1
grep -q "reload refused.*turnpike.conf:[0-9]*:" "$WORK/turnpiked.log" ||
	fail "the refused reload was not logged with file:line"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" bob builder 1 1 ||
	fail "the running configuration was lost after a refused reload"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
[ "$(worker_pids | wc -l)" -eq 2 ] || fail "a worker died during reload"

live=$("$STOREDUMP" "$WORK/state" | grep -c "user=alice ")
[ "$live" -eq 8 ] || fail "alice has $live live allocations after the reloads, want 8"
touch "$WORK/stop"
wait "$RELAY_PID" || fail "relay clients: $(cat "$WORK/relay.out")"
cat "$WORK/relay.out"
awk '/^client=/ {
	split($2, s, "="); split($3, r, "=");
	if (s[2] < 50 || s[2] != r[2]) { print "lost: " $0; bad = 1 }
} END { exit bad }' "$WORK/relay.out" || fail "packets were lost across the reloads"
echo "PASS"
