#!/bin/sh
# An allocation's life in the log (turnpiked(8), LOGGING): aioice's client
# (which we did not write) allocates over UDP and relays 100 datagrams
# each way, and its allocation's end says released with exactly what went
# each way, and the permission for its peer once; a wrong password is
# logged for fail2ban (only with a nonce
# the server gave that address), and makes no allocation; a TCP client's
# allocations end released and closed, with what they relayed; held UDP
# and TLS ones end shutdown when turnpiked stops; with max-lifetime 2s
# abandoned ones end expired; at log-level notice no allocation line is
# written, after a reload too.
. "$(dirname "$0")/lib.sh"
"$PYTHON" -c 'import aioice' 2>/dev/null || { echo "SKIP: python3-aioice"; exit $SKIP; }

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
LOG=$WORK/turnpiked.log
PORT=$(free_port)
TLS_PORT=$(free_port)
make_cert server
write_stream_config "$WORK/turnpike.conf" "
user = carol:looking-glass"
start_turnpiked "$WORK/turnpike.conf"

# lines PATTERN: how many log lines match (an extended regular expression).
lines() {
	grep -cE "$1" "$LOG" || true
}
# has_lines COUNT PATTERN: exactly COUNT lines match.
has_lines() {
	[ "$(lines "$2")" = "$1" ]
}

timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
	carol looking-glass 100 || fail "aioice client"
wait_for_line "$LOG" "allocation ended user=carol" || fail "no end line for carol"
[ "$(lines 'info worker [0-9]+: allocation created user=carol transport=udp client=127\.0\.0\.1:[0-9]+ listener=127\.0\.0\.1:'"$PORT"' relayed=127\.0\.0\.1:[0-9]+ lifetime=600$')" = 1 ] ||
	fail "not one created line for carol"
# "aioice-%04d": 11 bytes; the echo comes back the same.
[ "$(lines 'allocation ended user=carol transport=udp .* reason=released duration=[0-9]+ to-peer-packets=100 to-peer-bytes=1100 to-client-packets=100 to-client-bytes=1100$')" = 1 ] ||
	fail "carol's end line does not say released with 100 datagrams each way"
# Whom she relayed to: aioice binds a channel to its one peer.
[ "$(lines 'info worker [0-9]+: permission created user=carol transport=udp client=127\.0\.0\.1:[0-9]+ relayed=127\.0\.0\.1:[0-9]+ peer=127\.0\.0\.1:[0-9]+ method=(ChannelBind|CreatePermission)$')" = 1 ] ||
	fail "not one permission line for carol's peer"

# A wrong password with a made-up nonce, as a forged source would send it,
# is not logged (the line would put any address in a ban tool's hands);
# with the nonce the server gave that address, it is.
"$PYTHON" "$TESTS_DIR/turnclient.py" blindauth 127.0.0.1 "$PORT" carol turnpike.test ||
	fail "wrong passwords"
wait_for_line "$LOG" "authentication failed" || fail "no line for a wrong password"
[ "$(lines 'notice worker [0-9]+: authentication failed client=127\.0\.0\.1:[0-9]+ user=carol method=Allocate$')" = 1 ] ||
	fail "not exactly one failure line (only the one with our nonce) naming the client, the user and the method"
timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
	carol wrong-password 1 >/dev/null 2>&1 && fail "a wrong password allocated"
wait_until 5 has_lines 2 'authentication failed .* user=carol ' || true
[ "$(lines 'authentication failed client=127\.0\.0\.1:[0-9]+ user=carol method=Allocate$')" = 2 ] ||
	fail "aioice's wrong password was not logged"
[ "$(lines 'allocation created user=carol')" = 1 ] ||
	fail "a wrong password made an allocation"

# The stream client relays over TCP (ChannelData, Send and Data
# indications, pipelined requests; the counts are what it sends, which
# streamclient.py fixes), deletes that allocation, and its second one
# lives until it closes its connection.
timeout 60 "$PYTHON" "$TESTS_DIR/streamclient.py" relay 127.0.0.1 "$PORT" \
	alice wonderland >/dev/null || fail "stream client over TCP"
wait_for_line "$LOG" "transport=tcp .*reason=closed" ||
	fail "a TCP allocation did not end closed with its connection"
[ "$(lines 'allocation ended user=alice transport=tcp .* reason=released duration=[0-9]+ to-peer-packets=184 to-peer-bytes=977 to-client-packets=21 to-client-bytes=250$')" = 1 ] ||
	fail "the TCP allocation's counts are wrong: $(grep 'transport=tcp .*released' "$LOG")"
[ "$(lines 'allocation ended user=alice transport=tcp .* reason=closed .* to-peer-packets=0 to-peer-bytes=0 to-client-packets=0 to-client-bytes=0$')" = 1 ] ||
	fail "the TCP allocation's end line is wrong"
# Its peers all share 127.0.0.1, and a permission is per IP (RFC 8656
# §9): the first ChannelBind makes it, the CreatePermissions and
# ChannelBinds after it only refresh it.
[ "$(lines 'permission created user=alice transport=tcp .* method=ChannelBind$')" = 1 ] &&
	[ "$(lines 'permission created user=alice ')" = 1 ] ||
	fail "the TCP allocation's permission lines are wrong: $(grep 'permission created' "$LOG")"

# At a stop, UDP and TLS allocations alike end shutdown.
hold held 127.0.0.1 "$PORT" alice wonderland 2
"$PYTHON" "$TESTS_DIR/streamclient.py" hold 127.0.0.1 "$TLS_PORT" alice wonderland \
	"$WORK/server.pem" "$WORK/stop-tls" >"$WORK/tls.out" 2>&1 &
TLS_PID=$!
wait_for_line "$WORK/tls.out" ready || fail "TLS client: $(cat "$WORK/tls.out")"
kill -TERM "$TURNPIKED_PID"
for _ in $(seq 50); do
	kill -0 "$TURNPIKED_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$TURNPIKED_PID" 2>/dev/null && fail "turnpiked did not stop"
release held --lost
touch "$WORK/stop-tls"
wait "$TLS_PID" || true
[ "$(lines 'allocation ended user=alice transport=udp .* reason=shutdown ')" = 2 ] ||
	fail "the held allocations' end lines do not say shutdown"
[ "$(lines 'allocation ended user=alice transport=tls .* reason=shutdown ')" = 1 ] ||
	fail "the TLS allocation's end line does not say shutdown"
created=$(lines 'allocation created ')
ended=$(lines 'allocation ended ')
[ "$created" = "$ended" ] || fail "$created allocations made, $ended ended"

# Lifetimes of 2 s: an allocation nobody refreshes expires.
sed -i '/^log-level/d' "$WORK/turnpike.conf"
printf 'log-level = info\nmax-lifetime = 2s\ndefault-lifetime = 2s\n' >>"$WORK/turnpike.conf"
: >"$LOG"
start_turnpiked "$WORK/turnpike.conf"
hold lapse 127.0.0.1 "$PORT" alice wonderland 2
wait_until 10 has_lines 2 'reason=expired' || true
[ "$(lines 'allocation ended user=alice transport=udp .* reason=expired duration=[2-9] ')" = 2 ] ||
	fail "two allocations of 2 s did not end expired"
release lapse

# At notice, no line per allocation, also once a reload sets it.
sed -i 's/^log-level = info/log-level = notice/' "$WORK/turnpike.conf"
"$TURNPIKECTL" -c "$WORK/turnpike.conf" reload >/dev/null || fail "reload"
sleep 1 # turnpikectl waits for the master; the workers follow
before=$(lines 'allocation (created|ended)')
timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
	carol looking-glass 5 >/dev/null || fail "aioice client at notice"
[ "$(lines 'allocation (created|ended)')" = "$before" ] ||
	fail "allocation lines written at log-level notice"
echo "PASS"
