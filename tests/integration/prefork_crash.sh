#!/bin/sh
# kill -9 of one worker while every worker relays: the other workers'
# clients lose nothing, the dead worker's allocations leave the store
# (each logged as ended, reason=crashed) and give their quota back, a new worker takes new allocations, and the
# counters turnpikectl shows keep what the dead worker counted.
. "$(dirname "$0")/lib.sh"
: "${TURNPIKECTL:=$(pwd)/turnpikectl}"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland
allow-peer = 127.0.0.0/8
user-quota = 16"
start_turnpiked "$WORK/turnpike.conf"

"$PYTHON" "$TESTS_DIR/turnclient.py" relay 127.0.0.1 "$PORT" alice wonderland \
	16 "$WORK/stop" 60 >"$WORK/relay.out" 2>&1 &
RELAY_PID=$!
wait_for_line "$WORK/relay.out" ready || fail "relay clients: $(cat "$WORK/relay.out")"
"$STOREDUMP" "$WORK/state" >"$WORK/before"
victim_pid=$(sed -n 's/^worker=1 pid=\([0-9]*\) .*/\1/p' "$WORK/before" | head -1)
[ -n "$victim_pid" ] || fail "worker 1 has no allocation: $(cat "$WORK/before")"
dead=$(grep -c "^worker=1 " "$WORK/before")
echo "worker 1 (pid $victim_pid) holds $dead of 16 allocations; killing it"
sleep 1
# client_packets allocations_created allocations_deleted allocations_live,
# from the status the master publishes once a second.
counts() {
	"$TURNPIKECTL" -c "$WORK/turnpike.conf" --json counters |
		json "d['counters']['client_packets'], d['counters']['allocations_created'], d['counters']['allocations_deleted'], d['counters']['allocations_live']"
}
# turnpikectl status: the total client-to-peer packets, and those of
# exited workers.
status_packets() {
	"$TURNPIKECTL" -c "$WORK/turnpike.conf" --json status |
		json "d['total']['client_to_peer']['packets'], d['exited']['client_to_peer']['packets']"
}
set -- $(counts)
packets_before=$1
set -- $(status_packets)
status_before=$1
kill -KILL "$victim_pid"
sleep 2

set -- $(counts)
[ "$1" -ge "$packets_before" ] ||
	fail "client_packets went back from $packets_before to $1 with the crash"
[ "$2" -ge 16 ] || fail "allocations_created lost the dead worker's: $*"
[ $(($2 - $3)) -eq "$4" ] && [ "$4" -eq $((16 - dead)) ] ||
	fail "created - deleted is not the $((16 - dead)) live allocations: $*"
echo "counters after the crash: client_packets=$1 created=$2 deleted=$3 live=$4"
set -- $(status_packets)
[ "$1" -ge "$status_before" ] && [ "$2" -gt 0 ] ||
	fail "status lost the dead worker's packets: total $status_before, then $1 (exited $2)"

# Its records are gone and its quota is free: exactly $dead more fit.
"$STOREDUMP" "$WORK/state" | grep -q "pid=$victim_pid " &&
	fail "the dead worker's allocations are still in the store"
grep -q "worker killed slot=1 pid=$victim_pid generation=1 signal=9 name=KILL" "$WORK/turnpiked.log" ||
	fail "the master did not log the crash"
# The master writes the end line of each, from its record.
lost=$(grep -cE "info master: allocation ended user=alice transport=udp client=127\.0\.0\.1:[0-9]+ listener=127\.0\.0\.1:$PORT relayed=127\.0\.0\.1:[0-9]+ reason=crashed duration=[0-9]+$" \
	"$WORK/turnpiked.log" || true)
[ "$lost" -eq "$dead" ] || fail "$lost end lines for the $dead allocations of the dead worker"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland \
	$((dead + 2)) "$dead" || fail "the dead worker's quota was not given back"
new_pid=$(worker_pids | grep -v "^$victim_pid\$" | tail -1)
[ "$(worker_pids | wc -l)" -eq 2 ] || fail "no replacement worker"

sleep 1
touch "$WORK/stop"
wait "$RELAY_PID" || fail "relay clients failed: $(cat "$WORK/relay.out")"
cat "$WORK/relay.out"
# Clients of the surviving worker lost nothing.
grep '^worker=0 ' "$WORK/before" | sed -n 's/.*client=.*:\([0-9]*\)$/\1/p' |
	while read -r client; do
		line=$(grep "^client=[^ ]*:$client " "$WORK/relay.out")
		sent=$(echo "$line" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
		received=$(echo "$line" | sed -n 's/.*received=\([0-9]*\).*/\1/p')
		[ -n "$sent" ] && [ "$sent" -gt 100 ] || fail "$client sent too little: $line"
		[ "$sent" = "$received" ] || fail "$client on a surviving worker lost packets: $line"
	done
echo "PASS"
