#!/bin/sh
# New clients spread fairly over the workers of the current generation,
# also while connected per-allocation sockets share the listener port
# (DESIGN.md sections 2 and 7):
#  1. workers = 2 holding OLD allocations on an IPv4 and an IPv6
#     listener, then a reload to workers = 4 (a new generation): NEW
#     allocations from new clients, while the old ones are live, are
#     counted per worker; all must reach the new generation, no worker
#     above 1.5 times its fair share, and the old clients' deletes (sent
#     by the kernel to their connected sockets) still work. Run with the
#     steering programs when this process may load them, and again
#     (as root) without CAP_BPF, where the kernel's hash alone decides.
#  2. a fresh start with 4 workers and FRESH allocations held at once.
# Measured before the fix on Linux 6.18: in case 1 the two newly bound
# IPv4 sockets took every new client (2:1 between them), the two shared
# old ones none. A socket bound to a port with connected sockets joins
# the reuseport group of the newest of them (one that connect() took out
# of the listeners' group), and that group, first in the IPv4 lookup
# chain, answers alone. Before 6.13 connected sockets stay in the group
# instead, and the hash pick walks past them to the next listener, which
# only the steering program corrects (listeners.c; turnpiked(8),
# "Steering"; the README's Platform).
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
: "${OLD:=300}" "${NEW:=400}" "${FRESH:=2000}"
CONF=$WORK/turnpike.conf
# Each held allocation is one descriptor in the test client.
limit=$(ulimit -n)
if [ "$limit" != unlimited ] && [ "$FRESH" -gt $((limit - 200)) ]; then
	FRESH=$((limit - 200))
fi
[ "$FRESH" -ge 400 ] || { echo "SKIP: ulimit -n $limit is too low" >&2; exit "$SKIP"; }

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}

status_is() {
	[ "$(ctl --json status | json "$1")" = "$2" ]
}

# Allocations of USER per worker index: "INDEX COUNT" lines.
per_worker() {
	"$STOREDUMP" "$WORK/state" | sed -n "s/^worker=\([0-9]*\) .* user=$1 .*/\1/p" |
		sort -n | uniq -c | awk '{print $2, $1}'
}

# check_spread WHAT COUNTS TOTAL WORKERS: every worker took some, none
# more than 1.5 times its fair share.
check_spread() {
	echo "$1 (worker index, allocations):"
	echo "$2" | sed 's/^/  /'
	total=$(echo "$2" | awk '{s += $2} END {print s + 0}')
	[ "$total" -eq "$3" ] || fail "$1: the store holds $total, want $3"
	[ "$(echo "$2" | wc -l)" -eq "$4" ] || fail "$1: not every worker took allocations"
	max=$(echo "$2" | awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}')
	[ $((max * 2 * $4)) -le $((3 * $3)) ] ||
		fail "$1: one worker holds $max of $3 (fair share $(($3 / $4)))"
}

stop_turnpiked() {
	kill -TERM "$TURNPIKED_PID"
	wait "$TURNPIKED_PID" || fail "turnpiked did not stop cleanly"
	TURNPIKED_PID=
}

# 1. Across a generation, on an IPv4 and an IPv6 listener at once:
# alice and carol hold the old allocations, bob and dave the new ones.
base="relay-address = 127.0.0.1
user = alice:wonderland
user = bob:builder
user = carol:c
user = dave:d
log-level = info"
across_generation() {
	PORT=$(free_port)
	rm -f "$WORK"/stop-*
	write_config "$CONF" "listen = udp://[::1]:$PORT
$base
workers = 2"
	sed -i '/^log-level = debug$/d' "$CONF"
	start_turnpiked "$CONF"
	grep steering "$WORK/turnpiked.log" | sed 's/.*: steering/  steering/'
	hold old4 127.0.0.1 "$PORT" alice wonderland "$OLD" 180
	hold old6 ::1 "$PORT" carol c "$OLD" 180
	write_config "$CONF" "listen = udp://[::1]:$PORT
$base
workers = 4"
	sed -i '/^log-level = debug$/d' "$CONF"
	kill -HUP "$TURNPIKED_PID"
	wait_until 10 status_is 'sum(1 for w in d["workers"] if w["generation"] == 2 and w["pid"])' 4 ||
		fail "generation 2 is not 4 workers: $(ctl status)"
	new_slots=$(ctl --json status |
		json "' '.join(str(w['index']) for w in d['workers'] if w['generation'] == 2)")
	hold new4 127.0.0.1 "$PORT" bob builder "$NEW" 180
	hold new6 ::1 "$PORT" dave d "$NEW" 180
	for user in bob dave; do
		counts=$(per_worker $user)
		for index in $(echo "$counts" | cut -d' ' -f1); do
			echo " $new_slots " | grep -q " $index " ||
				fail "a new allocation went to worker $index, not generation 2 ($new_slots)"
		done
		family=IPv4
		[ $user = bob ] || family=IPv6
		check_spread "$NEW new $family allocations over generation 2 ($OLD old ones live)" \
			"$counts" "$NEW" 4
	done
	for user in alice carol; do
		[ "$(per_worker $user | awk '{s += $2} END {print s}')" -eq "$OLD" ] ||
			fail "old allocations were lost: $user $(per_worker $user)"
	done
	# The old clients' deletes reach their workers through the connected
	# sockets: none is left behind.
	for name in old4 old6 new4 new6; do
		release $name
	done
	wait_until 10 sh -c "[ -z \"\$('$STOREDUMP' '$WORK/state')\" ]" ||
		fail "allocations left after every client deleted its own: $("$STOREDUMP" "$WORK/state" | head -3)"
	stop_turnpiked
}

echo "with whatever steering this process may load:"
across_generation
# Root without CAP_BPF and CAP_SYS_ADMIN cannot load the steering
# programs: the kernel's hash alone must be fair too (from Linux 6.13).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	real=$TURNPIKED
	TURNPIKED=$WORK/unsteered
	printf '#!/bin/sh\nexec setpriv --bounding-set=-bpf,-sys_admin -- "%s" "$@"\n' \
		"$real" >"$TURNPIKED"
	chmod +x "$TURNPIKED"
	echo "without steering:"
	across_generation
	grep -q "steering unavailable" "$WORK/turnpiked.log" ||
		fail "steering was not refused without CAP_BPF"
	TURNPIKED=$real
fi

# 2. A fresh start.
PORT=$(free_port)
write_config "$CONF" "$base
workers = 4"
sed -i '/^log-level = debug$/d' "$CONF"
start_turnpiked "$CONF"
hold fresh 127.0.0.1 "$PORT" alice wonderland "$FRESH" 180
check_spread "$FRESH allocations over 4 workers from a fresh start" \
	"$(per_worker alice)" "$FRESH" 4
release fresh
echo "PASS"
