#!/bin/sh
# Keys whose effect shows only on a running server (turnpike.conf(5)):
# external-address, software, default-lifetime, max-lifetime, deny-peer
# over allow-peer, the four socket buffers, log to a file with
# log-level, and user-name (when the test runs as root). Each assertion
# fails if the key is ignored.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
cat >"$WORK/turnpike.conf" <<CONF
listen = udp://127.0.0.1:$PORT
realm = turnpike.test
state-dir = $WORK/state
pid-file = $WORK/turnpiked.pid
relay-address = 127.0.0.1
external-address = 127.0.0.2
software = effects test 1
default-lifetime = 2m
max-lifetime = 5m
allow-peer = 127.0.0.0/8
deny-peer = 127.0.0.3
user = alice:wonderland
workers = 1
listener-rcvbuf = 96KiB
listener-sndbuf = 80KiB
allocation-rcvbuf = 48KiB
allocation-sndbuf = 40KiB
log = $WORK/file.log
log-level = warning
CONF
start_turnpiked "$WORK/turnpike.conf"

TESTS_DIR=$TESTS_DIR "$PYTHON" - "$PORT" "$WORK/stop" >"$WORK/client.out" 2>&1 <<'PY' &
import os, struct, sys, time
sys.path.insert(0, os.environ["TESTS_DIR"])
from turnclient import *

port, stop = int(sys.argv[1]), sys.argv[2]
def lifetime(reply):
    return struct.unpack("!I", reply[LIFETIME])[0]
try:
    c = Client("127.0.0.1", port, "alice", "wonderland")
    code, reply = c.allocate()
    expect("Allocate", code, 0)
    expect("external-address is advertised",
           parse_xor_address(reply[XOR_RELAYED_ADDRESS], None)[0], "127.0.0.2")
    expect("software", reply.get(SOFTWARE_ATTR), b"effects test 1")
    expect("default-lifetime", lifetime(reply), 120)
    code, reply = c.request(REFRESH, [(LIFETIME, struct.pack("!I", 100000))])
    expect("max-lifetime caps a Refresh", (code, lifetime(reply)), (0, 300))
    code, _ = c.request(CREATE_PERMISSION,
                        [(XOR_PEER_ADDRESS, xor_address("127.0.0.3", 9, b""))])
    expect("deny-peer beats allow-peer", code, 403)
    code, _ = c.request(CREATE_PERMISSION,
                        [(XOR_PEER_ADDRESS, xor_address("127.0.0.4", 9, b""))])
    expect("allow-peer", code, 0)
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(stop) and time.monotonic() < deadline:
        time.sleep(0.1)
    c.request(REFRESH, [(LIFETIME, b"\0\0\0\0")])
except (Failure, TimeoutError) as e:
    print("FAIL:", e)
    sys.exit(1)
PY
CLIENT_PID=$!
wait_for_line "$WORK/client.out" ready || fail "client: $(cat "$WORK/client.out")"

# skmem rb/tb: the kernel doubles what SO_RCVBUF/SO_SNDBUF asked for.
# The listener is the socket on $PORT without a peer; the allocation's
# client socket is the one on $PORT with a peer.
skmem() {
	ss -uamn "sport = :$PORT" | awk -v want="$1" '
		/^UNCONN/ && $5 ~ /\*$/ { kind = "listener"; next }
		/^ESTAB/ { kind = "client"; next }
		/skmem/ && kind == want { match($0, /rb[0-9]+,t0,tb[0-9]+/);
			print substr($0, RSTART, RLENGTH); kind = "" }'
}
[ "$(skmem listener)" = "rb196608,t0,tb163840" ] ||
	fail "listener buffers: $(ss -uamn "sport = :$PORT")"
[ "$(skmem client)" = "rb98304,t0,tb81920" ] ||
	fail "allocation buffers: $(ss -uamn "sport = :$PORT")"
touch "$WORK/stop"
wait "$CLIENT_PID" || fail "client: $(cat "$WORK/client.out")"
cat "$WORK/client.out"

# log-level = warning left out the info lines (on stderr under -f).
kill -TERM "$TURNPIKED_PID"
wait "$TURNPIKED_PID" || true
TURNPIKED_PID=
grep -q "worker started" "$WORK/turnpiked.log" &&
	fail "info lines logged at log-level = warning"
# log = FILE, without -f: the daemon's lines go to the file.
sed -i 's/^log-level = warning/log-level = info/' "$WORK/turnpike.conf"
"$TURNPIKED" -c "$WORK/turnpike.conf" >"$WORK/turnpiked.log" 2>&1 ||
	fail "turnpiked did not start as a daemon"
wait_ready
TURNPIKED_PID=$(cat "$WORK/turnpiked.pid")
wait_for_line "$WORK/file.log" "worker serving slot=0 generation=1" ||
	fail "no info line in the log file: $(cat "$WORK/file.log")"
[ -s "$WORK/turnpiked.log" ] && fail "lines on stderr with log = FILE"

# user-name: the workers run as that account (the master drops root
# before it binds, so every socket of the group has one owner).
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	kill -TERM "$TURNPIKED_PID"
	wait_until 5 sh -c "! kill -0 $TURNPIKED_PID 2>/dev/null" || fail "no stop"
	sed -i 's|^log = .*|log = stderr|' "$WORK/turnpike.conf"
	chmod 755 "$WORK"
	echo "user-name = nobody" >>"$WORK/turnpike.conf"
	start_turnpiked "$WORK/turnpike.conf"
	for pid in $TURNPIKED_PID $(worker_pids); do
		uid=$(awk '/^Uid:/ {print $3}' "/proc/$pid/status")
		[ "$uid" = "$(id -u nobody)" ] || fail "pid $pid runs as uid $uid, not nobody"
	done
	"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 1 1 ||
		fail "no allocation as nobody"
	# Both environments of the store, made by root at the first start.
	owners=$(cd "$WORK/state" && stat -c '%n %U' . data.mdb lock.mdb \
		durable durable/data.mdb durable/lock.mdb | awk '$2 != "nobody"')
	[ -z "$owners" ] || fail "state-dir files not given to nobody: $owners"
	echo "ok: user-name"
fi
echo "PASS"
