#!/bin/sh
# A listener on a wildcard address (0.0.0.0, ::) answers from the address
# each client sent to, and a client's allocation socket is bound to that
# address: on a host with several addresses, a reply from another one is
# dropped by a client with a connected socket or behind a NAT. Loopback
# has all of 127.0.0.0/8, so 127.0.0.2 and 127.0.0.3 stand for a host's
# second and third address; the kernel would pick 127.0.0.1 as the source
# of a reply to 127.0.0.1 from an unbound one.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -c 'import aioice' 2>/dev/null || { echo "SKIP: python3-aioice"; exit $SKIP; }
: "${TURNPIKECTL:=$(pwd)/turnpikectl}"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = carol:looking-glass
allow-peer = 127.0.0.0/8
workers = 2"
sed -i "s|^listen = .*|listen = udp://0.0.0.0:$PORT\nlisten = tcp://0.0.0.0:$PORT|" \
	"$WORK/turnpike.conf"
have_v6=0
if "$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
	have_v6=1
	echo "listen = udp://[::]:$PORT" >>"$WORK/turnpike.conf"
fi
start_turnpiked "$WORK/turnpike.conf"

# Binding from connected sockets: the answer must come from the address
# asked (stunprobe.py connects, so the kernel drops any other source).
for address in 127.0.0.1 127.0.0.2 127.0.0.3; do
	"$PYTHON" "$TESTS_DIR/stunprobe.py" wait "$address" "$PORT" ||
		fail "no Binding answer from $address:$PORT"
done
if [ "$have_v6" -eq 1 ]; then
	"$PYTHON" "$TESTS_DIR/stunprobe.py" wait ::1 "$PORT" ||
		fail "no Binding answer from [::1]:$PORT"
fi

# aioice (a client we did not write) over a connected UDP socket to the
# second address: 401, Allocate, permissions, data both ways, Refresh 0.
timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.2 "$PORT" \
	carol looking-glass 50 || fail "aioice through 127.0.0.2"
timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.3 "$PORT" \
	carol looking-glass 50 tcp || fail "aioice over TCP through 127.0.0.3"

# The store records each 5-tuple with the address the client sent to.
hold carol 127.0.0.3 "$PORT" carol looking-glass 20
"$TURNPIKECTL" -c "$WORK/turnpike.conf" allocations --json >"$WORK/allocations.json" ||
	fail "turnpikectl allocations"
release carol
"$PYTHON" - "$WORK/allocations.json" "$PORT" <<'PY' || fail "listener addresses in the store"
import json, sys
allocations = json.load(open(sys.argv[1]))["allocations"]
listeners = sorted(set(a["listener"] for a in allocations))
want = ["127.0.0.3:%s" % sys.argv[2]]
print("listeners recorded:", listeners, "of", len(allocations), "allocations")
sys.exit(0 if len(allocations) == 20 and listeners == want else 1)
PY
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
