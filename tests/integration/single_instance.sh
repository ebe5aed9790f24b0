#!/bin/sh
# Workers do not outlive their master (PR_SET_PDEATHSIG), and a second
# turnpiked cannot silently join the first one's reuseport groups: the
# pid-file lock refuses the same configuration, and a probe bind refuses
# another configuration on the same address, at start and at a reload
# that adds an address. Neither refusal disturbs the
# running server or its live allocations.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland"
start_turnpiked "$WORK/turnpike.conf"

hold clients 127.0.0.1 "$PORT" alice wonderland 3

# second NAME CONFIG: runs a second turnpiked for at most 5 s; prints its
# exit status (124: it kept running).
second() {
	rc=0
	timeout 5 "$TURNPIKED" -f -c "$2" >"$WORK/$1.log" 2>&1 || rc=$?
	echo "$rc"
}

rc=$(second same "$WORK/turnpike.conf")
[ "$rc" = 1 ] || fail "a second turnpiked with the same pid-file: exit $rc"
grep -q "pid-file locked path=$WORK/turnpiked.pid holder=$TURNPIKED_PID " "$WORK/same.log" ||
	fail "no clear error: $(cat "$WORK/same.log")"
[ "$(cat "$WORK/turnpiked.pid")" = "$TURNPIKED_PID" ] || fail "the pid file was overwritten"

mkdir "$WORK/other"
sed -e "s|^state-dir = .*|state-dir = $WORK/other/state|" \
	-e "s|^pid-file = .*|pid-file = $WORK/other/turnpiked.pid|" \
	"$WORK/turnpike.conf" >"$WORK/other.conf"
rc=$(second other "$WORK/other.conf")
[ "$rc" = 1 ] || fail "a second turnpiked on the same address: exit $rc"
grep -q "listen refused address=udp://127.0.0.1:$PORT " "$WORK/other.log" ||
	fail "no clear error: $(cat "$WORK/other.log")"
[ ! -e "$WORK/other/turnpiked.pid" ] || fail "the refused instance left its pid file"

# The first one is untouched: its allocations and a new one.
[ "$("$STOREDUMP" "$WORK/state" | grep -c "user=alice ")" -eq 3 ] ||
	fail "live allocations were lost: $("$STOREDUMP" "$WORK/state")"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 1 1 ||
	fail "the first turnpiked no longer allocates"
release clients

# A reload that adds an address another program holds with SO_REUSEPORT
# (as the same user, so our bind alone would succeed and share it) is
# refused, and the running generation stays.
PORT3=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("bound", flush=True)
time.sleep(30)' "$PORT3" >"$WORK/holder.out" 2>&1 &
HOLDER_PID=$!
wait_for_line "$WORK/holder.out" bound || fail "holder: $(cat "$WORK/holder.out")"
echo "listen = udp://127.0.0.1:$PORT3" >>"$WORK/turnpike.conf"
kill -HUP "$TURNPIKED_PID"
wait_for_line "$WORK/turnpiked.log" "listen refused address=udp://127.0.0.1:$PORT3 " ||
	fail "a reload onto a held address was not refused"
wait_for_line "$WORK/turnpiked.log" "reload refused error=" || fail "no reload refused line"
grep -q "generation started generation=2" "$WORK/turnpiked.log" &&
	fail "a new generation started on a held address"
kill "$HOLDER_PID"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 1 1 ||
	fail "the first turnpiked no longer allocates after the refused reload"

# SIGKILL of the master: the workers stop by themselves and free the
# address, and the lock with them.
workers=$(worker_pids)
[ "$(echo "$workers" | wc -l)" -eq 2 ] || fail "workers: $workers"
kill -KILL "$TURNPIKED_PID"
wait "$TURNPIKED_PID" 2>/dev/null || true
for pid in $workers; do
	wait_until 5 sh -c "! kill -0 $pid 2>/dev/null" ||
		fail "worker $pid outlived its master"
done
TURNPIKED_PID=
start_turnpiked "$WORK/turnpike.conf"
echo "PASS"
