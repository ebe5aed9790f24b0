#!/bin/sh
# TURN over TCP and TLS (RFC 8656 section 3.1): coturn's turnutils_uclient
# (-t, and -t -S for TLS) in channel and Send-indication modes with several
# clients, aioice's TCP and TLS client, and the project's stream client
# (padding, Data indications, requests among data in single writes,
# Refresh 0 and a new Allocate on one connection, one byte per write)
# relay through turnpiked to peers on
# loopback. The store records each allocation with its transport while
# the connection lives, and forgets it, quota included, when it closes.
. "$(dirname "$0")/lib.sh"
need turnutils_uclient
need turnutils_peer
make_cert server

PORT=$(free_port)
TLS_PORT=$(free_port)
PEER_PORT=$(free_port)
SECRET=rest-secret-$$
write_stream_config "$WORK/turnpike.conf" "auth-secret = $SECRET
user-quota = 10
# turnutils_uclient picks channel numbers in RFC 5766's range.
channel-numbers = rfc5766"
"$TURNPIKED" -t -c "$WORK/turnpike.conf" >/dev/null || fail "turnpiked -t"
start_turnpiked "$WORK/turnpike.conf"

start_peer

# Four clients at once (-m 4), each with two allocations.
run_uclient "TCP, channels" "$PORT" -t -m 4 -u alice -w wonderland
run_uclient "TCP, Send indications" "$PORT" -t -s -m 4 -u alice -w wonderland
run_uclient "TCP, channels, REST API" "$PORT" -t -m 4 -u bob -W "$SECRET"
run_uclient "TLS, channels" "$TLS_PORT" -t -S -m 4 -u carol -W "$SECRET"
run_uclient "TLS, Send indications" "$TLS_PORT" -t -S -s -m 4 -u dave -W "$SECRET"

"$PYTHON" -c 'import aioice' 2>/dev/null || { echo "SKIP: python3-aioice"; exit $SKIP; }
timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
	alice wonderland 50 tcp || fail "aioice over TCP"
timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$TLS_PORT" \
	alice wonderland 50 tls "$WORK/server.pem" || fail "aioice over TLS"

timeout 60 "$PYTHON" "$TESTS_DIR/streamclient.py" relay 127.0.0.1 "$PORT" \
	alice wonderland || fail "stream client over TCP"
timeout 60 "$PYTHON" "$TESTS_DIR/streamclient.py" relay 127.0.0.1 "$TLS_PORT" \
	alice wonderland tls "$WORK/server.pem" || fail "stream client over TLS"
timeout 60 "$PYTHON" "$TESTS_DIR/streamclient.py" relay 127.0.0.1 "$TLS_PORT" \
	alice wonderland tls "$WORK/server.pem" trickle || fail "stream client over TLS, one byte per write"
timeout 60 "$PYTHON" "$TESTS_DIR/streamclient.py" relay 127.0.0.1 "$PORT" \
	alice wonderland trickle || fail "stream client over TCP, one byte per write"

# While a TLS client holds its allocation the store knows it as TLS (56);
# when the connection closes, the record and alice's quota go with it.
"$PYTHON" "$TESTS_DIR/streamclient.py" hold 127.0.0.1 "$TLS_PORT" alice wonderland \
	"$WORK/server.pem" "$WORK/stop" >"$WORK/hold.out" 2>&1 &
HOLD_PID=$!
wait_for_line "$WORK/hold.out" ready || fail "TLS client: $(cat "$WORK/hold.out")"
"$STOREDUMP" "$WORK/state" | grep -q "user=alice .*transport=56" ||
	fail "no TLS record for alice: $("$STOREDUMP" "$WORK/state")"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 10 9 ||
	fail "alice's quota does not count her TLS allocation"
touch "$WORK/stop"
wait "$HOLD_PID" || fail "TLS client: $(cat "$WORK/hold.out")"
for _ in $(seq 30); do
	"$STOREDUMP" "$WORK/state" | grep -q . || break
	sleep 0.1
done
left=$("$STOREDUMP" "$WORK/state")
[ -z "$left" ] || fail "records left after every connection closed: $left"
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 11 10 ||
	fail "alice's quota was not given back when her connection closed"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
