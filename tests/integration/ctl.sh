#!/bin/sh
# turnpikectl against a running turnpiked: status (text and JSON),
# counters that count hostile datagrams and a Binding, allocations while clients hold some, LMDB users that work without a
# reload, quota overrides, REST credentials, reload (refused and applied),
# stop, and the exit status 3 once turnpiked is gone.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf
SECRET=ctl-secret-$$

PORT=$(free_port)
write_config "$CONF" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland
auth-secret = $SECRET"
cp "$CONF" "$WORK/good.conf"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}

# ctl_rc ARGS...: runs turnpikectl, output in $WORK/out and $WORK/err,
# and prints its exit status.
ctl_rc() {
	rc=0
	ctl "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	echo "$rc"
}

# wait_no_allocations USER: until the store holds none of USER's (a
# worker deletes a record just after its Refresh response leaves).
wait_no_allocations() {
	for _ in $(seq 50); do
		[ "$(ctl --json allocations --user "$1" | json 'd["count"]')" = 0 ] &&
			return 0
		sleep 0.1
	done
	fail "$1 still has allocations: $(ctl allocations)"
}

# quota_holds USER PASSWORD COUNT ALLOWED: of COUNT Allocates from as many
# ports, ALLOWED succeed and the others get 486; then all are deleted.
quota_holds() {
	"$PYTHON" -c "import sys; sys.path.insert(0, '$TESTS_DIR')
import turnclient
count, allowed = int(sys.argv[3]), int(sys.argv[4])
clients, codes = turnclient.allocate_many('127.0.0.1', $PORT, sys.argv[1],
                                          sys.argv[2], count)
print('codes', codes)
for c, code in zip(clients, codes):
    if code == 0:
        c.request(turnclient.REFRESH, [(turnclient.LIFETIME, b'\0\0\0\0')])
    c.close()
sys.exit(codes.count(0) != allowed or codes.count(486) != count - allowed)
" "$@"
}

# ---- status ------------------------------------------------------------
ctl status >"$WORK/status" || fail "status: exit $?"
grep -q "running, master pid $TURNPIKED_PID" "$WORK/status" ||
	fail "status text: $(cat "$WORK/status")"
ctl --json status >"$WORK/status.json" || fail "status --json: exit $?"
json 'd["running"], d["master_pid"], len(d["workers"]), d["config"]' \
	<"$WORK/status.json" >"$WORK/fields" || fail "status --json is not JSON"
[ "$(cat "$WORK/fields")" = "True $TURNPIKED_PID 2 $CONF" ] ||
	fail "status --json: $(cat "$WORK/status.json")"
echo "ok: status"

# ---- counters: every metric, summed over the workers, moving ------------
counter() {
	ctl --json counters | json "d['counters']['$1']"
}
ctl counters >"$WORK/counters" || fail "counters: exit $?"
metrics=$(grep -c '^	X(' "$TESTS_DIR/../../include/turnpike/metrics.h")
[ "$(wc -l <"$WORK/counters")" = "$metrics" ] ||
	fail "counters: not the $metrics metrics: $(cat "$WORK/counters")"
grep -q '^rx_malformed .*malformed STUN or ChannelData dropped$' "$WORK/counters" ||
	fail "counters text: $(cat "$WORK/counters")"
datagrams=$(counter rx_datagrams)
bindings=$(counter binding_requests)
dropped=$(($(counter rx_malformed) + $(counter rx_unknown) + $(counter rx_unexpected)))
"$PYTHON" "$TESTS_DIR/stunprobe.py" garbage 127.0.0.1 "$PORT" 20 || fail "garbage"
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT" || fail "Binding"
# The snapshot is published once a second.
counted() {
	[ "$(counter rx_datagrams)" -ge $((datagrams + 21)) ] &&
		[ "$(counter binding_requests)" -gt "$bindings" ] &&
		[ $(($(counter rx_malformed) + $(counter rx_unknown) + $(counter rx_unexpected))) -gt "$dropped" ]
}
for _ in $(seq 50); do counted && break; sleep 0.1; done
counted || fail "counters did not count 20 hostile datagrams and a Binding: $(ctl counters)"
echo "ok: counters"

# ---- counters --prometheus: read by the Prometheus client's own parser ---
ctl counters --prometheus >"$WORK/counters.prom" || fail "counters --prometheus: exit $?"
"$PYTHON" - "$WORK/counters.prom" "$metrics" "$((datagrams + 21))" <<'PY' ||
import sys
from prometheus_client.parser import text_string_to_metric_families

families = {f.name: f for f in
            text_string_to_metric_families(open(sys.argv[1]).read())}
# The metrics, the three rate-limit outcomes by level, the snapshot time.
assert len(families) == int(sys.argv[2]) + 4, sorted(families)
levels = {s.labels["level"] for s in
          families["turnpike_rate_limit_dropped"].samples}
assert levels == {"allocation", "user", "server"}, levels
rx = families["turnpike_rx_datagrams"]
assert rx.type == "counter" and rx.documentation, (rx.type, rx.documentation)
assert rx.samples[0].name == "turnpike_rx_datagrams_total", rx.samples
assert rx.samples[0].value >= int(sys.argv[3]), rx.samples
live = families["turnpike_allocations_live"]
assert live.type == "gauge" and live.samples[0].name == live.name, live
assert families["turnpike_snapshot_time_seconds"].samples[0].value > 1.7e9
PY
	fail "counters --prometheus: $(cat "$WORK/counters.prom")"
[ "$(ctl_rc --json --prometheus counters)" = 2 ] ||
	fail "--json with --prometheus was taken: $(cat "$WORK/err")"
[ "$(ctl_rc --prometheus status)" = 2 ] ||
	fail "--prometheus with status was taken: $(cat "$WORK/err")"
echo "ok: counters --prometheus"

# ---- users: added without a reload, deleted, 401 ------------------------
printf 'builder\n' | ctl users add bob >/dev/null || fail "users add"
[ "$(printf 'x\n' | ctl_rc users add bob)" = 1 ] ||
	fail "users add of an existing user succeeded"
ctl users list | grep -qx bob || fail "users list: $(ctl users list)"
[ "$(ctl --json users list | json 'd["users"][0]["name"], d["count"]')" = \
	"bob 1" ] || fail "users list --json"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" bob builder 1 1 ||
	fail "a user added with turnpikectl cannot allocate"
printf 'mason\n' | ctl users passwd bob >/dev/null || fail "users passwd"
[ "$(allocate bob builder)" = 401 ] || fail "the old password still works"
[ "$(allocate bob mason)" = 0 ] || fail "the new password does not work"
echo "ok: users add and passwd take effect without a reload"

# ---- allocations, and the status counting them --------------------------
hold bob 127.0.0.1 "$PORT" bob mason 3
[ "$(ctl --json allocations --user bob | json 'd["count"], set(a["user"] for a in d["allocations"])')" = \
	"3 {'bob'}" ] || fail "allocations --user bob: $(ctl --json allocations)"
[ "$(ctl allocations | grep -c '^bob udp 127.0.0.1:[0-9]* -> 127.0.0.1:')" = 3 ] ||
	fail "allocations text: $(ctl allocations)"
[ "$(ctl --json allocations --user alice | json 'd["count"]')" = 0 ] ||
	fail "allocations --user alice lists others"
# The snapshot is renewed every second.
for _ in $(seq 30); do
	live=$(ctl --json status | json 'd["total"]["allocations"]')
	[ "$live" = 3 ] && break
	sleep 0.1
done
[ "$live" = 3 ] || fail "status counts $live allocations, not 3"
release bob
echo "ok: allocations and status count held allocations"

# ---- quota overrides, at once -------------------------------------------
wait_no_allocations bob
ctl quota set bob 2 >/dev/null || fail "quota set"
[ "$(ctl --json quota get bob | json 'd["quota"], d["override"]')" = "2 True" ] ||
	fail "quota get: $(ctl --json quota get bob)"
quota_holds bob mason 4 2 || fail "the quota override does not hold"
wait_no_allocations bob
ctl quota set bob 3 >/dev/null || fail "quota set 3"
quota_holds bob mason 4 3 || fail "a changed quota override does not hold"
ctl quota del bob >/dev/null || fail "quota del"
[ "$(ctl_rc quota del bob)" = 1 ] || fail "quota del of no override"
echo "ok: quota override"

ctl users del bob >/dev/null || fail "users del"
[ "$(allocate bob mason)" = 401 ] || fail "a deleted user still allocates"
[ "$(ctl_rc users del bob)" = 1 ] || fail "users del of no user"
echo "ok: users del gives 401"

# ---- REST API credentials -----------------------------------------------
ctl --json credentials carol --ttl 600 >"$WORK/cred.json" || fail "credentials"
json 'd["username"], d["password"], d["ttl"], d["uris"][0]' \
	<"$WORK/cred.json" >"$WORK/cred" || fail "credentials --json is not JSON"
read -r user password ttl uri <"$WORK/cred"
case $user in *:carol) ;; *) fail "credentials username $user" ;; esac
[ "$ttl" = 600 ] || fail "credentials ttl $ttl"
[ "$uri" = "turn:127.0.0.1:$PORT?transport=udp" ] || fail "credentials uri $uri"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" "$user" "$password" 1 1 ||
	fail "minted credentials do not allocate"
ctl credentials carol | grep -q '^password: ' || fail "credentials text"
# RFC 7065 URIs for every transport; a wildcard listener is named by the
# relay address (the file is only read: nothing listens on these).
sed -e '/^listen = /d' "$CONF" >"$WORK/uris.conf"
cat >>"$WORK/uris.conf" <<URIS
listen = tcp://127.0.0.1:3478
listen = tls://127.0.0.1:5349
listen = udp://0.0.0.0:3479
tls-cert = $WORK/unused.pem
tls-key = $WORK/unused.key
URIS
"$TURNPIKECTL" -c "$WORK/uris.conf" --json credentials carol |
	json '" ".join(d["uris"])' >"$WORK/uris" || fail "credentials with tcp and tls listeners"
[ "$(cat "$WORK/uris")" = "turn:127.0.0.1:3478?transport=tcp turns:127.0.0.1:5349?transport=tcp turn:127.0.0.1:3479?transport=udp" ] ||
	fail "credentials uris: $(cat "$WORK/uris")"
echo "ok: credentials"

# ---- reload -------------------------------------------------------------
echo "no-such-key = 1" >>"$CONF"
bad_line=$(wc -l <"$CONF")
[ "$(ctl_rc reload)" = 1 ] || fail "a bad reload exited $(cat "$WORK/err")"
grep -q "refused.*$CONF:$bad_line: unknown key 'no-such-key'" "$WORK/err" ||
	fail "reload error: $(cat "$WORK/err")"
[ "$(ctl --json status | json 'd["last_reload"]["applied"]')" = False ] ||
	fail "status does not show the refused reload"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died on a bad reload"
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT" ||
	fail "turnpiked stopped answering after a bad reload"
[ "$(allocate alice wonderland)" = 0 ] || fail "no allocation after a bad reload"
cp "$WORK/good.conf" "$CONF"
[ "$(ctl_rc reload)" = 0 ] || fail "a good reload: $(cat "$WORK/err")"
grep -q "reloaded $CONF" "$WORK/out" || fail "reload output: $(cat "$WORK/out")"
echo "ok: reload"

# ---- a state directory on a read-only mount -----------------------------
# LMDB would read a lock.mdb it cannot write without taking a reader slot
# while turnpiked writes (a unit with ProtectSystem=strict and another
# state-dir does that): turnpikectl refuses, with the fix. What counts is
# the mount of lock.mdb itself. The mounts are made in a mount namespace
# of the command's own, which takes root (or CAP_SYS_ADMIN).
# mounted_ctl RO RW ARGS...: turnpikectl ARGS with the paths in RO
# mounted read-only, then those in RW (below them) writable.
mounted_ctl() {
	rc=0
	unshare -m sh -c 'mount --make-rprivate / &&
		for p in $1 $2; do mount --bind "$p" "$p" || exit; done &&
		for p in $1; do mount -o remount,ro,bind "$p" || exit; done &&
		shift 2 && exec "$@"' sh "$1" "$2" "$TURNPIKECTL" -c "$CONF" \
		counters >"$WORK/out" 2>"$WORK/err" || rc=$?
	echo "$rc"
}
state=$WORK/state
locks="$state/lock.mdb $state/durable/lock.mdb"
if unshare -m true 2>/dev/null; then
	for ro in "$state" "$state/durable" "$locks" "$state/durable/lock.mdb"; do
		rc=$(mounted_ctl "$ro" "")
		[ "$rc" = 1 ] &&
			grep -q "lock.mdb is on a read-only file system.*ReadWritePaths" "$WORK/err" ||
			fail "$ro read-only: exit $rc, $(cat "$WORK/out" "$WORK/err")"
	done
	# The directories read-only, the lock files writable: a reader slot.
	rc=$(mounted_ctl "$state $state/durable" "$locks")
	[ "$rc" = 0 ] || fail "read-only directories, writable lock files: exit $rc, $(cat "$WORK/err")"
	[ "$(ctl_rc counters)" = 0 ] || fail "counters after the read-only mounts"
	echo "ok: a lock.mdb on a read-only mount is refused"
else
	echo "skipped: read-only mounts (unshare -m needs root)"
fi

# ---- stop, and what turnpikectl says afterwards -------------------------
[ "$(ctl_rc stop)" = 0 ] || fail "stop: $(cat "$WORK/err")"
wait "$TURNPIKED_PID" || true
kill -0 "$TURNPIKED_PID" 2>/dev/null && fail "turnpiked still runs after stop"
[ -e "$WORK/turnpiked.pid" ] && fail "the pid file is still there"
TURNPIKED_PID=
[ "$(ctl_rc status)" = 3 ] || fail "status of a stopped turnpiked"
grep -q "turnpiked is not running: no pid file" "$WORK/err" ||
	fail "status message: $(cat "$WORK/err")"
[ "$(ctl_rc --json status)" = 3 ] || fail "status --json of a stopped turnpiked"
[ "$(json 'd["running"]' <"$WORK/out")" = False ] || fail "status --json: $(cat "$WORK/out")"
[ "$(ctl_rc reload)" = 3 ] || fail "reload of a stopped turnpiked"
[ "$(ctl_rc stop)" = 3 ] || fail "stop of a stopped turnpiked"
echo "ok: stop"

# ---- usage and state-directory errors -----------------------------------
[ "$(ctl_rc frobnicate)" = 2 ] || fail "an unknown command is not exit 2"
[ "$(ctl_rc quota set bob many)" = 2 ] || fail "a bad quota is not exit 2"
write_config "$WORK/elsewhere.conf" "state-dir = $WORK/missing"
sed -i '/^state-dir = .*state$/d' "$WORK/elsewhere.conf"
rc=0
"$TURNPIKECTL" -c "$WORK/elsewhere.conf" users list >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "state directory $WORK/missing does not exist" "$WORK/err" ||
	fail "a missing state directory: exit $rc, $(cat "$WORK/err")"
echo "PASS"
