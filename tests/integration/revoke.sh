#!/bin/sh
# turnpikectl revoke: a user's live allocations end now, in every worker
# (here 2), with a log line each (reason=revoked), and leave the store;
# another user's stay; the revoked user may allocate again, and that
# allocation stays when the workers look at the revocations again; a
# user-id's REST API credentials end together; --json says how many.
. "$(dirname "$0")/lib.sh"
: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf

PORT=$(free_port)
write_config "$CONF" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland
user = bob:builder
auth-secret = rest-secret"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}
records() {
	"$STOREDUMP" "$WORK/state" | grep -c "user=$1 " || true
}

hold alice 127.0.0.1 "$PORT" alice wonderland 6
hold bob 127.0.0.1 "$PORT" bob builder 2
[ "$(allocations_per_worker | wc -l)" -eq 2 ] ||
	fail "want allocations on both workers: $(allocations_per_worker)"

out=$(ctl revoke alice) || fail "revoke alice: $out"
[ "$out" = "alice: 6 allocations ended" ] || fail "revoke alice said: $out"
[ "$(records alice)" -eq 0 ] || fail "alice's records are left: $("$STOREDUMP" "$WORK/state")"
[ "$(records bob)" -eq 2 ] || fail "bob lost allocations: $("$STOREDUMP" "$WORK/state")"
[ "$(grep -c "allocation ended user=alice transport=udp .* reason=revoked " "$WORK/turnpiked.log")" -eq 6 ] ||
	fail "not 6 end lines saying revoked"
grep -q "notice worker [0-9]*: allocations revoked user=alice allocations=[0-9]*$" "$WORK/turnpiked.log" ||
	fail "no worker said it revoked alice's allocations"
release alice

# A new allocation of alice's is not touched by her old revocation, when
# bob's makes every worker read the list again.
sleep 1 # a second later than the revocation
hold again 127.0.0.1 "$PORT" alice wonderland 1
[ "$(ctl --json revoke bob)" = '{"user":"bob","ended":2}' ] || fail "revoke bob --json"
[ "$(records bob)" -eq 0 ] || fail "bob's records are left"
release bob --lost
[ "$(records alice)" -eq 1 ] || fail "alice's new allocation was revoked too"
release again

# Two REST API credentials of the user-id dave end with "revoke dave".
for ttl in 3600 7200; do
	creds=$(ctl --json credentials dave --ttl "$ttl") || fail "credentials"
	user=$(echo "$creds" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["username"])')
	pass=$(echo "$creds" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["password"])')
	hold "dave$ttl" 127.0.0.1 "$PORT" "$user" "$pass" 1
done
[ "$(ctl revoke dave)" = "dave: 2 allocations ended" ] || fail "revoke dave"
[ "$("$STOREDUMP" "$WORK/state" | grep -c ":dave ")" -eq 0 ] || fail "dave's REST allocations are left"
release dave3600 --lost
release dave7200 --lost
[ "$(ctl revoke nobody)" = "nobody: 0 allocations ended" ] || fail "revoke nobody"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
