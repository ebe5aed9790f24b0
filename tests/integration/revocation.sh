#!/bin/sh
# Revoked credentials end the right to refresh (RFC 8656 §5, the same
# credentials): with an allocation each, a static user removed by a
# reload, a user of the database deleted with turnpikectl, another given
# a new password, and REST API credentials whose auth-secret was
# withdrawn all get 401 for their next Refresh, and a log line; as the
# Refresh is signed with the allocation's own key, the allocation ends
# there (reason=revoked) and leaves the store. A user nothing changed
# for refreshes as before.
. "$(dirname "$0")/lib.sh"
: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf

PORT=$(free_port)
base="relay-address = 127.0.0.1
workers = 2
user = bob:builder"
write_config "$CONF" "$base
user = alice:wonderland
auth-secret = north
auth-secret = south"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}
echo 'secret-garden' | ctl users add erin >/dev/null || fail "users add erin"
echo 'hatter' | ctl users add mad >/dev/null || fail "users add mad"
rest=$(ctl --json credentials dave --ttl 3600) || fail "credentials"
rest_user=$(echo "$rest" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["username"])')
rest_pass=$(echo "$rest" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["password"])')

# later NAME USER PASSWORD: an allocation that refreshes once $WORK/go
# exists; its client's pid joins $LATER.
LATER=
later() {
	"$PYTHON" "$TESTS_DIR/turnclient.py" refresh-later 127.0.0.1 "$PORT" \
		"$2" "$3" "$WORK/go" >"$WORK/$1.out" 2>&1 &
	LATER="$LATER $!"
	wait_for_line "$WORK/$1.out" ready || fail "$1: $(cat "$WORK/$1.out")"
}
later alice alice wonderland
later erin erin secret-garden
later mad mad hatter
later dave "$rest_user" "$rest_pass"
later bob bob builder

# alice and the first secret leave by a reload; erin is deleted, mad
# gets a new password.
write_config "$CONF" "$base
auth-secret = south"
reloads=$(grep -c "reloaded allocations=" "$WORK/turnpiked.log" || true)
ctl reload >/dev/null || fail "reload"
ctl users del erin >/dev/null || fail "users del erin"
echo 'march-hare' | ctl users passwd mad >/dev/null || fail "users passwd mad"
# turnpikectl waits for the master; each of the 2 workers says so.
reloaded() {
	[ "$(grep -c "reloaded allocations=" "$WORK/turnpiked.log")" -ge $((reloads + 2)) ]
}
wait_until 10 reloaded || fail "the workers did not reload"
touch "$WORK/go"
for pid in $LATER; do
	wait "$pid" || true
done

for name in alice erin mad dave; do
	grep -q "^refresh 401$" "$WORK/$name.out" ||
		fail "$name refreshed with revoked credentials: $(cat "$WORK/$name.out")"
done
grep -q "^refresh 0$" "$WORK/bob.out" || fail "bob could not refresh: $(cat "$WORK/bob.out")"
for user in alice erin mad "$rest_user"; do
	grep -q "authentication failed client=127.0.0.1:[0-9]* user=$user method=Refresh$" \
		"$WORK/turnpiked.log" || fail "no log line for $user's refused Refresh"
	grep -q "allocation ended user=$user transport=udp .* reason=revoked " \
		"$WORK/turnpiked.log" || fail "$user's allocation did not end revoked"
done
left=$("$STOREDUMP" "$WORK/state")
[ "$(echo "$left" | grep -c "user=")" -eq 1 ] && echo "$left" | grep -q "user=bob " ||
	fail "only bob's allocation should be left: $left"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
