#!/bin/sh
# A reload that changes `workers` (DESIGN.md section 7): a new generation
# of workers takes the new allocations, the old generation keeps relaying
# for its own without losing a packet, and exits once they are gone; it
# is not respawned, and turnpikectl shows both generations meanwhile.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf
PORT=$(free_port)
base="relay-address = 127.0.0.1
allow-peer = 127.0.0.0/8
user = alice:wonderland
user = bob:builder"
write_config "$CONF" "$base
workers = 2"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}

# The pids of the workers of one generation, serving or draining.
generation_pids() {
	ctl --json status | json "' '.join(str(w['pid']) for w in d['workers']
	                                    if w['generation'] == $1)"
}

# The pids holding USER's allocations, one per line.
allocation_pids() {
	ctl --json allocations --user "$1" |
		json "'\n'.join(str(a['pid']) for a in d['allocations'])"
}

# The inodes of the unconnected (listener) sockets on 127.0.0.1:$PORT.
listener_inodes() {
	awk -v local="$(printf '0100007F:%04X' "$PORT")" \
		'$2 == local && $3 == "00000000:0000" { print $10 }' /proc/net/udp |
		sort
}

status_is() {
	[ "$(ctl --json status | json "$1")" = "$2" ]
}

"$PYTHON" "$TESTS_DIR/turnclient.py" relay 127.0.0.1 "$PORT" alice wonderland \
	12 "$WORK/stop" 60 delete >"$WORK/relay.out" 2>&1 &
RELAY_PID=$!
wait_for_line "$WORK/relay.out" ready || fail "relay clients: $(cat "$WORK/relay.out")"
old=$(generation_pids 1)
[ "$(echo "$old" | wc -w)" -eq 2 ] || fail "generation 1 is not 2 workers: $old"
# Both old workers hold allocations, so both must drain.
for pid in $old; do
	allocation_pids alice | grep -qx "$pid" ||
		fail "old worker $pid holds no allocation: $(ctl allocations)"
done

listener_inodes >"$WORK/inodes.1"
[ "$(wc -l <"$WORK/inodes.1")" -eq 2 ] || fail "listeners: $(cat "$WORK/inodes.1")"
write_config "$CONF" "$base
workers = 3"
kill -HUP "$TURNPIKED_PID"
wait_until 10 status_is 'd["generation"]' 2 || fail "no generation 2: $(ctl status)"
wait_until 10 status_is 'sum(1 for w in d["workers"] if w["generation"] == 2 and w["pid"])' 3 ||
	fail "generation 2 is not 3 workers: $(ctl status)"
status_is 'sorted(w["draining"] for w in d["workers"] if w["generation"] == 1)' \
	"[True, True]" || fail "generation 1 is not draining: $(ctl status)"
ctl status | grep -q " 1 draining " || fail "status text: $(ctl status)"
new=$(generation_pids 2)
echo "generation 1: $old; generation 2: $new"
# The listen address did not change, yet the new generation binds three
# UDP sockets of its own and the old ones close: one bound next to live
# connected sockets would not share the old ones' reuseport group
# (listeners.c, plant_seeds; generation_spread.sh measures the spread).
listeners_renewed() {
	listener_inodes >"$WORK/inodes.2"
	[ "$(wc -l <"$WORK/inodes.2")" -eq 3 ] &&
		[ -z "$(comm -12 "$WORK/inodes.1" "$WORK/inodes.2")" ]
}
wait_until 5 listeners_renewed ||
	fail "listeners: before $(cat "$WORK/inodes.1"), after $(cat "$WORK/inodes.2")"

# New allocations reach the new generation only: 8 clients from as many
# ports, spread by the kernel over the new listeners alone.
hold bob 127.0.0.1 "$PORT" bob builder 8
[ "$(allocation_pids bob | wc -l)" -eq 8 ] || fail "bob: $(ctl allocations --user bob)"
for pid in $(allocation_pids bob); do
	echo "$new" | grep -qw "$pid" ||
		fail "a new allocation went to pid $pid, not generation 2 ($new)"
done
for pid in $old; do
	kill -0 "$pid" 2>/dev/null || fail "old worker $pid left before its allocations"
done
# A refused reload now changes neither generation.
echo "workers = many" >>"$CONF"
kill -HUP "$TURNPIKED_PID"
wait_until 10 status_is 'd["last_reload"]["applied"]' False || fail "bad file not refused"
status_is 'len(d["workers"])' 5 || fail "a refused reload changed the workers: $(ctl status)"

# The old clients end their allocations after relaying across the change
# for a while; the old workers then exit by themselves and are not
# replaced.
sleep 2
touch "$WORK/stop" "$WORK/stop-bob"
wait "$RELAY_PID" || fail "relay clients: $(cat "$WORK/relay.out")"
release bob
for pid in $old; do
	wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" ||
		fail "old worker $pid did not exit after its allocations ended"
	grep -q "worker exited slot=[0-9]* pid=$pid generation=1 status=0" \
		"$WORK/turnpiked.log" || fail "old worker $pid did not exit cleanly"
done
sleep 1.5 # a respawn would show within a second
[ "$(worker_pids | wc -l)" -eq 3 ] || fail "workers now: $(worker_pids | tr '\n' ' ')"
status_is 'sorted((w["generation"], w["draining"]) for w in d["workers"])' \
	"[(2, False), (2, False), (2, False)]" || fail "status after the drain: $(ctl status)"

# A third generation takes the slots the first one freed (lowest free
# first), and the second, holding no allocation, drains at once.
write_config "$CONF" "$base
workers = 2"
kill -HUP "$TURNPIKED_PID"
wait_until 10 status_is 'sorted((w["index"], w["generation"]) for w in d["workers"])' \
	"[(0, 3), (1, 3)]" || fail "generation 3 did not take slots 0 and 1: $(ctl status)"

cat "$WORK/relay.out"
# Every old allocation relayed through the generation change without loss.
awk '/^client=/ {
	split($2, s, "="); split($3, r, "=");
	if (s[2] < 100 || s[2] != r[2]) { print "lost: " $0; bad = 1 }
} END { exit bad }' "$WORK/relay.out" || fail "packets were lost across the new generation"
echo "PASS"
