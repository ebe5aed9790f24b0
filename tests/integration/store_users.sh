#!/bin/sh
# The store's users end to end (turnpike/store.h): users and quota
# overrides live in state-dir/durable and survive a restart; a user added
# with turnpikectl authenticates by USERHASH (RFC 8489 §14.4, as an RFC
# 8489 client with SHA-256 keys, turnclient.py userhash), found through
# the store's index, after passwd too, not after del; after a change of
# realm only once its password is set again; and a state directory of
# the version 1 layout (one environment, made by storeforge) is refused
# by turnpikectl, converted by turnpiked at start, and its users then
# authenticate by USERNAME and USERHASH with their quota overrides.
#
# No third-party client here sends USERHASH (coturn's turnutils_uclient
# and aioice do not), hence the project's own client.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
: "${STOREFORGE:=$(pwd)/tests/integration/storeforge}"
CONF=$WORK/turnpike.conf

PORT=$(free_port)
# No auth-secret: the nonce offers USERHASH only without REST
# credentials, which a USERHASH cannot name.
write_config "$CONF" "relay-address = 127.0.0.1
workers = 2"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}

# by_userhash USER PASSWORD: the first error code of an Allocate, Refresh
# and delete by USERHASH, or 0.
by_userhash() {
	"$PYTHON" "$TESTS_DIR/turnclient.py" userhash 127.0.0.1 "$PORT" "$1" "$2" ||
		fail "turnclient.py userhash $1 failed"
}

stop_turnpiked() {
	kill -TERM "$TURNPIKED_PID"
	wait "$TURNPIKED_PID" || fail "turnpiked exited with $? on SIGTERM"
	TURNPIKED_PID=
}

# ---- the durable environment ---------------------------------------------
printf 'garden\n' | ctl users add erin >/dev/null || fail "users add"
ctl quota set erin 4 >/dev/null || fail "quota set"
[ -f "$WORK/state/durable/data.mdb" ] && [ -f "$WORK/state/data.mdb" ] ||
	fail "state-dir holds $(find "$WORK/state" | tr '\n' ' ')"
[ "$(stat -c %a "$WORK/state/durable")" = 750 ] ||
	fail "state-dir/durable has mode $(stat -c %a "$WORK/state/durable")"
echo "ok: users in state-dir/durable"

# ---- USERHASH ------------------------------------------------------------
[ "$(by_userhash erin garden)" = 0 ] ||
	fail "a store user cannot allocate by USERHASH"
[ "$(by_userhash erin weeds)" = 401 ] || fail "a wrong password by USERHASH"
[ "$(by_userhash nobody garden)" = 401 ] || fail "an unknown USERHASH"
[ "$(allocate erin garden)" = 0 ] || fail "erin by USERNAME"
printf 'orchard\n' | ctl users passwd erin >/dev/null || fail "users passwd"
[ "$(by_userhash erin garden)" = 401 ] || fail "the old password by USERHASH"
[ "$(by_userhash erin orchard)" = 0 ] || fail "the new password by USERHASH"
echo "ok: a store user authenticates by USERHASH, also after passwd"

# ---- a restart: users and overrides stay, allocations do not -------------
hold erin 127.0.0.1 "$PORT" erin orchard 2
[ "$("$STOREDUMP" "$WORK/state" | grep -c 'user=erin')" = 2 ] ||
	fail "the store does not show erin's allocations"
gone() {
	for pid in "$@"; do ! kill -0 "$pid" 2>/dev/null || return 1; done
}
# dead PID...: gone, or a zombie its stopped parent has not reaped.
dead() {
	for pid in "$@"; do
		state=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null) || state=
		[ -z "$state" ] || [ "$state" = Z ] || return 1
	done
}
# SIGKILL to all leaves the records behind, as a crash would. The master
# is stopped first: killed before its workers, it would have them sent
# SIGTERM (PR_SET_PDEATHSIG), and a worker that stops cleanly deletes its
# records; killed after one of them, it would purge that worker's.
workers=$(worker_pids | tr '\n' ' ')
pids="$TURNPIKED_PID $workers"
kill -STOP "$TURNPIKED_PID"
# shellcheck disable=SC2086 # a list of pids
kill -KILL $workers
# shellcheck disable=SC2086
wait_until 5 dead $workers || fail "workers outlived SIGKILL"
kill -KILL "$TURNPIKED_PID"
wait "$TURNPIKED_PID" 2>/dev/null || true
# shellcheck disable=SC2086 # a list of pids
wait_until 5 gone $pids || fail "turnpiked outlived SIGKILL"
TURNPIKED_PID=
release erin --lost
[ "$("$STOREDUMP" "$WORK/state" | grep -c 'user=erin')" = 2 ] ||
	fail "the killed turnpiked's records are gone before a start"
start_turnpiked "$CONF"
[ "$(ctl --json allocations | json 'd["count"]')" = 0 ] ||
	fail "live allocations survived a start: $(ctl allocations)"
[ "$(ctl --json quota get erin | json 'd["quota"], d["override"]')" = "4 True" ] ||
	fail "the quota override did not survive: $(ctl --json quota get erin)"
[ "$(by_userhash erin orchard)" = 0 ] || fail "erin after a restart"
echo "ok: users and overrides survive a restart, live allocations do not"

# ---- a change of realm ---------------------------------------------------
sed -i 's/^realm = .*/realm = elsewhere.test/' "$CONF"
ctl reload >/dev/null || fail "reload"
[ "$(by_userhash erin orchard)" = 401 ] ||
	fail "keys of the old realm work by USERHASH"
ctl users list | grep -q '^erin (keys for realm turnpike.test' ||
	fail "users list: $(ctl users list)"
printf 'orchard\n' | ctl users passwd erin >/dev/null || fail "passwd after reload"
[ "$(by_userhash erin orchard)" = 0 ] ||
	fail "USERHASH of the new realm after passwd"
echo "ok: a change of realm needs passwd, which moves the USERHASH"

ctl users del erin >/dev/null || fail "users del"
[ "$(by_userhash erin orchard)" = 401 ] || fail "a deleted user by USERHASH"
echo "ok: users del removes the USERHASH"
stop_turnpiked

# ---- a version 1 state directory -----------------------------------------
"$STOREFORGE" "$WORK/old" old.test frank:meadow:1 gwen:brook ||
	fail "storeforge"
write_config "$WORK/old.conf" "relay-address = 127.0.0.1
workers = 2"
sed -i "s|^state-dir = .*|state-dir = $WORK/old|; s|^realm = .*|realm = old.test|" \
	"$WORK/old.conf"
CONF=$WORK/old.conf
rc=0
ctl users list >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q 'start turnpiked once' "$WORK/err" ||
	fail "turnpikectl on a version 1 store: exit $rc, $(cat "$WORK/err")"
[ ! -e "$WORK/old/durable" ] || fail "turnpikectl made durable/ in an old store"
start_turnpiked "$CONF"
grep -q 'store converted .*from-version=1 users=2 quota-overrides=1 moved-to=durable' \
	"$WORK/turnpiked.log" || fail "no conversion in the log"
grep "store converted" "$WORK/turnpiked.log"
[ "$(ctl users list | tr '\n' ' ')" = "frank gwen " ] ||
	fail "users list after the conversion: $(ctl users list)"
[ "$(by_userhash frank meadow)" = 0 ] || fail "a converted user by USERHASH"
[ "$(allocate gwen brook)" = 0 ] || fail "a converted user by USERNAME"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" frank meadow 2 1 ||
	fail "the converted quota override does not hold"
stop_turnpiked
start_turnpiked "$CONF"
! grep -q 'store converted' "$WORK/turnpiked.log" ||
	fail "converted again at the second start"
[ "$(by_userhash gwen brook)" = 0 ] || fail "gwen after the second start"
echo "ok: a version 1 state directory is converted once, users and overrides kept"
echo "PASS"
