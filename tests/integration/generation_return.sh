#!/bin/sh
# A listen address given up by a reload and taken back by a later one,
# while the generation that had it still drains: its allocations' sockets
# are still bound there, which the master must tell from another process
# holding the port (the single-instance check). The reload is applied,
# new clients on the address reach the newest generation, and the old
# clients keep their allocations.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf
PORT=$(free_port)
PORT2=$(other_port "$PORT")
base="relay-address = 127.0.0.1
allow-peer = 127.0.0.0/8
user = alice:wonderland
workers = 1
drain-timeout = 1h"
write_config "$CONF" "$base"
start_turnpiked "$CONF"

ctl() {
	"$TURNPIKECTL" -c "$CONF" "$@"
}

hold old_clients 127.0.0.1 "$PORT" alice wonderland 5
first=$(ctl --json status | json "d['workers'][0]['pid']")

# Generation 2 listens on PORT2 only; generation 1 drains on PORT.
sed "s|^listen = .*|listen = udp://127.0.0.1:$PORT2|" "$CONF" >"$WORK/moved.conf"
cp "$WORK/moved.conf" "$CONF"
ctl reload >"$WORK/reload.out" 2>&1 || fail "reload to $PORT2: $(cat "$WORK/reload.out")"

# Generation 3 listens on PORT again.
write_config "$CONF" "$base
listen = udp://127.0.0.1:$PORT2"
ctl reload >"$WORK/reload.out" 2>&1 ||
	fail "reload back to $PORT refused: $(cat "$WORK/reload.out")"
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT" || fail "no answer on $PORT"
[ "$(ctl --json status | json 'd["generation"]')" = 3 ] || fail "not generation 3: $(ctl status)"
newest=$(ctl --json status | json "[w['pid'] for w in d['workers'] if w['generation'] == 3][0]")
hold new_clients 127.0.0.1 "$PORT" alice wonderland 3
pids=$(ctl --json allocations | json "' '.join(sorted(set(str(a['pid']) for a in d['allocations'])))")
echo "allocations held by: $pids (first generation $first, newest $newest)"
[ "$(ctl --json allocations | json "sum(1 for a in d['allocations'] if a['pid'] == $first)")" = 5 ] ||
	fail "the draining generation lost allocations: $(ctl allocations)"
[ "$(ctl --json allocations | json "sum(1 for a in d['allocations'] if a['pid'] == $newest)")" = 3 ] ||
	fail "new clients on $PORT are not with generation 3: $(ctl allocations)"
touch "$WORK/stop-old_clients" "$WORK/stop-new_clients"
release old_clients
release new_clients

# The same with a wildcard listener: its clients' sockets are bound to
# 127.0.0.1:PORT3 (the address they wrote to), and a later generation
# listening on exactly that address must not take them for another
# process's.
PORT3=$(other_port "$PORT2")
write_config "$CONF" "$base
listen = udp://127.0.0.1:$PORT2"
sed -i "s|^listen = udp://127.0.0.1:$PORT\$|listen = udp://0.0.0.0:$PORT3|" "$CONF"
ctl reload >"$WORK/reload.out" 2>&1 || fail "reload to 0.0.0.0:$PORT3: $(cat "$WORK/reload.out")"
hold wildcard_clients 127.0.0.1 "$PORT3" alice wonderland 3
write_config "$CONF" "$base"
sed -i "s|^listen = .*|listen = udp://127.0.0.1:$PORT2|" "$CONF"
ctl reload >"$WORK/reload.out" 2>&1 || fail "reload away from $PORT3: $(cat "$WORK/reload.out")"
write_config "$CONF" "$base
listen = udp://127.0.0.1:$PORT2"
sed -i "s|^listen = udp://127.0.0.1:$PORT\$|listen = udp://127.0.0.1:$PORT3|" "$CONF"
ctl reload >"$WORK/reload.out" 2>&1 ||
	fail "reload to 127.0.0.1:$PORT3 refused while 0.0.0.0:$PORT3 drains: $(cat "$WORK/reload.out")"
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT3" || fail "no answer on $PORT3"
release wildcard_clients
echo "PASS"
