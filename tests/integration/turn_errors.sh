#!/bin/sh
# Every TURN error our own client can provoke, with its attributes:
# 400, 401, 403, 420, 437, 438, 440, 441, 442, 508, retransmissions, the
# peer policy (and its log lines), ChannelData both ways and deletion;
# and the order of a ChannelBind success and the data on its channel.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = alice:wonderland
user = bob:builder
allow-peer = 127.0.0.0/8
nonce-lifetime = 3s"
start_turnpiked "$WORK/turnpike.conf"
"$PYTHON" "$TESTS_DIR/turnclient.py" errors 127.0.0.1 "$PORT" \
	alice wonderland bob builder 4 || fail "error responses"
# The peer policy's refusals are logged with who asked for what.
for peer in 10.1.2.3:9 169.254.169.254:80; do
	grep -q "info worker [0-9]*: peer refused user=alice client=127.0.0.1:[0-9]* peer=$peer method=CreatePermission$" \
		"$WORK/turnpiked.log" || fail "no log line for the refused peer $peer"
done
# Not an error, but the same server will do: a ChannelBind success is
# never overtaken by data on its channel (src/worker/reply.h).
"$PYTHON" "$TESTS_DIR/turnclient.py" bindorder 127.0.0.1 "$PORT" \
	alice wonderland 48 || fail "ChannelData overtook a ChannelBind success"
kill -TERM "$TURNPIKED_PID"
wait "$TURNPIKED_PID" || true

# Three relay ports (above the kernel's ephemeral range): the fourth
# Allocate gets 508 Insufficient Capacity.
PORT=$(free_port)
base=$((61000 + $$ % 4000))
write_config "$WORK/small.conf" "relay-address = 127.0.0.1
relay-ports = $base-$((base + 2))
user = alice:wonderland"
start_turnpiked "$WORK/small.conf"
"$PYTHON" "$TESTS_DIR/turnclient.py" capacity 127.0.0.1 "$PORT" \
	alice wonderland 3 || fail "508 when the relay ports run out"
echo "PASS"
