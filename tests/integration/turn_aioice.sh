#!/bin/sh
# aioice's TURN client (python3-aioice) allocates through turnpiked, sends
# to an echo peer on loopback and gets every echo back through the relay.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -c 'import aioice' 2>/dev/null || { echo "SKIP: python3-aioice"; exit $SKIP; }

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = carol:looking-glass
allow-peer = 127.0.0.0/8"
start_turnpiked "$WORK/turnpike.conf"

timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
	carol looking-glass 100 || fail "aioice client"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
