#!/bin/sh
# A reload that adds a listener and shrinks `workers` (DESIGN.md section
# 7), with clients that keep their allocations: the new listener reaches
# the new generation; an old worker killed while draining is not
# respawned and its records leave the store; the other old worker exits
# at drain-timeout although it still holds allocations; a crashed worker
# of the new generation is respawned into its slot.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf
PORT=$(free_port)
PORT2=$(other_port "$PORT")
base="relay-address = 127.0.0.1
allow-peer = 127.0.0.0/8
user = alice:wonderland
drain-timeout = 4s"
write_config "$CONF" "$base
workers = 2"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}

status_is() {
	[ "$(ctl --json status | json "$1")" = "$2" ]
}

# Live allocations of a pid in the store.
allocations_of() {
	ctl --json allocations | json "sum(1 for a in d['allocations'] if a['pid'] == $1)"
}

# Allocates from PORT_ARG and prints the pid that holds the allocation.
allocation_pid_on() {
	"$PYTHON" -c "import sys, time; sys.path.insert(0, '$TESTS_DIR')
import turnclient
c = turnclient.Client('127.0.0.1', $1, 'alice', 'wonderland')
code, _ = c.allocate()
if code != 0:
    sys.exit('Allocate on port $1: %d' % code)
print(c.sock.getsockname()[1], flush=True)
time.sleep(2)
c.request(turnclient.REFRESH, [(turnclient.LIFETIME, b'\0\0\0\0')])" >"$WORK/port.$1" &
	wait_until 5 test -s "$WORK/port.$1" || fail "no allocation on port $1"
	ctl --json allocations | json "[a['pid'] for a in d['allocations']
		if a['client'].endswith(':' + '$(cat "$WORK/port.$1")')][0]"
}

hold clients 127.0.0.1 "$PORT" alice wonderland 10
old=$(ctl --json status | json "' '.join(str(w['pid']) for w in d['workers'])")
busy=""
for pid in $old; do
	[ "$(allocations_of "$pid")" -gt 0 ] && busy="$busy $pid"
done
[ -n "$busy" ] || fail "no old worker holds an allocation: $(ctl allocations)"

write_config "$CONF" "$base
listen = udp://127.0.0.1:$PORT2
workers = 1"
kill -HUP "$TURNPIKED_PID"
wait_until 10 status_is 'd["generation"]' 2 || fail "no generation 2: $(ctl status)"
start=$(date +%s)
new=$(ctl --json status | json "[w['pid'] for w in d['workers'] if w['generation'] == 2][0]")

# Killed while draining: cleaned up, not replaced. The other one, which
# holds allocations, is left to drain.
other=$(echo "$busy" | awk '{print $1}')
victim=$(echo "$old" | tr ' ' '\n' | grep -vx "$other")
echo "old workers: $old (draining: $other, killed: $victim); new: $new"
kill -KILL "$victim"
wait_for_line "$WORK/turnpiked.log" "worker killed slot=[0-9]* pid=$victim generation=1 signal=9" ||
	fail "the master did not log the draining worker's death"
wait_until 5 status_is "sum(1 for w in d['workers'] if w['generation'] == 1)" 1 ||
	fail "the killed draining worker was replaced: $(ctl status)"
[ "$(allocations_of "$victim")" = 0 ] || fail "the killed worker's records stay"

# The added listener, and the old one, reach the new generation only.
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT2" || fail "no answer on $PORT2"
[ "$(allocation_pid_on "$PORT2")" = "$new" ] || fail "port $PORT2 is not served by $new"
[ "$(allocation_pid_on "$PORT")" = "$new" ] || fail "port $PORT is not served by $new"

# The other old worker drains until drain-timeout, then leaves its
# clients (they would have to allocate again) and its records.
[ "$(allocations_of "$other")" -gt 0 ] || fail "old worker $other lost its allocations"
kill -0 "$other" || fail "old worker $other left before drain-timeout"
wait_until 15 sh -c "! kill -0 $other 2>/dev/null" || fail "old worker $other outlived drain-timeout"
took=$(($(date +%s) - start))
[ "$took" -ge 3 ] || fail "old worker $other left after $took s, before drain-timeout"
echo "old worker $other left after $took s with its clients still there"
grep -q "worker exited slot=[0-9]* pid=$other generation=1 status=0" "$WORK/turnpiked.log" ||
	fail "old worker $other did not exit cleanly at drain-timeout"
[ "$(allocations_of "$other")" = 0 ] || fail "records of $other stay after its drain"
wait_until 10 status_is 'len(d["workers"])' 1 || fail "old workers stay: $(ctl status)"

# A current worker is still respawned, in the same slot and generation.
slot=$(ctl --json status | json 'd["workers"][0]["index"]')
kill -KILL "$new"
wait_until 10 status_is '[(w["index"], w["generation"], w["pid"] not in (None, '"$new"')) for w in d["workers"]]' \
	"[($slot, 2, True)]" || fail "the new generation's worker was not respawned: $(ctl status)"
release clients --lost

# SIGTERM stops every generation, draining ones included, at once.
hold clients2 127.0.0.1 "$PORT" alice wonderland 3 30
write_config "$CONF" "$(echo "$base" | sed 's/^drain-timeout = .*/drain-timeout = 1h/')
workers = 2"
kill -HUP "$TURNPIKED_PID"
wait_until 10 status_is 'sorted(w["draining"] for w in d["workers"])' \
	"[False, False, True]" || fail "no draining generation: $(ctl status)"
all=$(worker_pids)
kill -TERM "$TURNPIKED_PID"
# Well before drain-timeout, and without the master's SIGKILL.
wait_until 4 sh -c "! kill -0 $TURNPIKED_PID 2>/dev/null" || fail "the master did not stop"
for pid in $all; do
	kill -0 "$pid" 2>/dev/null && fail "worker $pid outlived SIGTERM"
done
grep -q "workers kill" "$WORK/turnpiked.log" && fail "workers had to be killed"
TURNPIKED_PID=
release clients2 --lost
echo "PASS"
