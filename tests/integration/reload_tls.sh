#!/bin/sh
# SIGHUP re-reads the TLS certificate: new connections are served the new
# one, a connection made before keeps relaying with the old one, and a
# broken certificate is refused, logged, and changes nothing. TLS 1.2 and
# 1.3 are served; tls-ciphers and tls-min-version apply on reload.
. "$(dirname "$0")/lib.sh"
make_cert first
make_cert second

PORT=$(free_port)
TLS_PORT=$(free_port)
cp "$WORK/first.pem" "$WORK/cert.pem"
cp "$WORK/first.key" "$WORK/key.pem"
write_config "$WORK/turnpike.conf" "listen = tls://127.0.0.1:$TLS_PORT
tls-cert = $WORK/cert.pem
tls-key = $WORK/key.pem
workers = 2
relay-address = 127.0.0.1
user = alice:wonderland
allow-peer = 127.0.0.0/8"
start_turnpiked "$WORK/turnpike.conf"
first=$(cert_sha256 "$WORK/first.pem")
second=$(cert_sha256 "$WORK/second.pem")
served() {
	"$PYTHON" "$TESTS_DIR/streamclient.py" fingerprint 127.0.0.1 "$TLS_PORT"
}
[ "$(served)" = "$first" ] || fail "the first certificate is not served"

rm -f "$WORK/stop"
"$PYTHON" "$TESTS_DIR/streamclient.py" hold 127.0.0.1 "$TLS_PORT" alice wonderland \
	"$WORK/first.pem" "$WORK/stop" >"$WORK/hold.out" 2>&1 &
HOLD_PID=$!
trap 'touch "$WORK/stop"; cleanup' EXIT INT TERM
wait_for_line "$WORK/hold.out" ready || fail "TLS client: $(cat "$WORK/hold.out")"
grep -q "ready $first" "$WORK/hold.out" || fail "the held connection has another certificate"

cp "$WORK/second.pem" "$WORK/cert.pem"
cp "$WORK/second.key" "$WORK/key.pem"
kill -HUP "$TURNPIKED_PID"
sleep 1
# Every worker: a few connections land on each (the kernel spreads them).
for _ in 1 2 3 4 5 6; do
	[ "$(served)" = "$second" ] || fail "a new connection was not served the new certificate"
done
echo "after reload, new connections get $second"

# A broken certificate: the master refuses the reload (with the reason,
# before any worker is told) and the second one stays.
echo "not a certificate" >"$WORK/cert.pem"
kill -HUP "$TURNPIKED_PID"
sleep 1
grep -q "master: reload refused error=\"tls-cert $WORK/cert.pem" "$WORK/turnpiked.log" ||
	fail "the broken certificate was not refused in the log"
for _ in 1 2 3 4; do
	[ "$(served)" = "$second" ] || fail "a broken certificate replaced the good one"
done

# Protocols and ciphers come from the file too, for new connections.
tlsinfo() {
	"$PYTHON" "$TESTS_DIR/streamclient.py" tlsinfo 127.0.0.1 "$TLS_PORT" "$1"
}
cp "$WORK/second.pem" "$WORK/cert.pem"
tlsinfo 1.2 | grep -q "^TLSv1.2 ECDHE-ECDSA-AES" || fail "TLS 1.2 by default: $(tlsinfo 1.2)"
tlsinfo 1.3 | grep -q "^TLSv1.3 " || fail "TLS 1.3 by default: $(tlsinfo 1.3)"
write_config "$WORK/turnpike.conf" "listen = tls://127.0.0.1:$TLS_PORT
tls-cert = $WORK/cert.pem
tls-key = $WORK/key.pem
tls-ciphers = ECDHE+CHACHA20
tls-chain = $WORK/first.pem
workers = 2
relay-address = 127.0.0.1
user = alice:wonderland
allow-peer = 127.0.0.0/8"
kill -HUP "$TURNPIKED_PID"
sleep 1
for _ in 1 2 3 4; do
	tlsinfo 1.2 | grep -q "^TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305" ||
		fail "tls-ciphers not applied: $(tlsinfo 1.2)"
done
# tls-chain: the chain file's certificate follows the server's.
certs=$(echo | timeout 5 openssl s_client -connect "127.0.0.1:$TLS_PORT" -showcerts \
	2>/dev/null | grep -c "BEGIN CERTIFICATE") || true
[ "$certs" -eq 2 ] || fail "tls-chain: $certs certificates served, want 2"
echo "tls-min-version = 1.3" >>"$WORK/turnpike.conf"
kill -HUP "$TURNPIKED_PID"
sleep 1
for _ in 1 2 3 4; do
	[ "$(tlsinfo 1.2)" = refused ] || fail "TLS 1.2 after tls-min-version = 1.3: $(tlsinfo 1.2)"
	tlsinfo 1.3 | grep -q "^TLSv1.3 " || fail "TLS 1.3 refused: $(tlsinfo 1.3)"
done

touch "$WORK/stop"
wait "$HOLD_PID" || fail "the connection made before the reloads lost packets: $(cat "$WORK/hold.out")"
cat "$WORK/hold.out"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
[ "$(worker_pids | wc -l)" -eq 2 ] || fail "a worker died during reload"
echo "PASS"
