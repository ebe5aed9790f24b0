#!/bin/sh
# Hostile TCP and TLS clients: frames longer than any message and bytes
# that are neither STUN nor ChannelData close their connection at once; a
# stalled TLS handshake and a client that never allocates are closed after
# their timeouts; a client that reads late gets every datagram its relay
# socket held meanwhile, and one that reads at once every datagram of
# bursts larger than its queue; a client that never reads is paced, then
# dropped, and its allocation deleted; 2,000 idle connections (1,000 from one address,
# 1,000 from ten) are held only up to the configured bounds. Throughout,
# the workers' descriptors and memory stay bounded, they come back to
# where they were, and real clients keep relaying.
. "$(dirname "$0")/lib.sh"
: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
make_cert server

PORT=$(free_port)
TLS_PORT=$(free_port)
# Per worker: 100 pending connections per source address, 300 in all.
write_stream_config "$WORK/turnpike.conf" "tls-handshake-timeout = 2
stream-auth-timeout = 6
stream-max-pending = 300
stream-max-pending-per-source = 100
stream-buffer = 64KiB
stream-write-timeout = 3
allocation-rcvbuf = 256KiB"
start_turnpiked "$WORK/turnpike.conf"
sleep 0.5
fds_before=$(workers_fds)
rss_before=$(workers_rss)
client() {
	timeout 60 "$PYTHON" "$TESTS_DIR/streamclient.py" "$@"
}

client framing 127.0.0.1 "$PORT" || fail "framing"
client stall 127.0.0.1 "$PORT" "$TLS_PORT" 2 6 || fail "stalled clients"
# turnpikectl counters: the slow reader did make the server pause (the
# snapshot is published once a second).
pauses() {
	"$TURNPIKECTL" -c "$WORK/turnpike.conf" --json counters | json "d['counters']['stream_pauses']"
}
pauses_before=$(pauses) || fail "turnpikectl counters"
# 450 x 504 bytes is more than the server holds for the client without
# pausing: its queue (stream-buffer), its socket's send buffer (the kernel
# doubles the stream-buffer it is given) and the client's 8 KiB window.
# The peer sends no more at a time than the relay socket has room for
# (allocation-rcvbuf, 256 KiB).
client slowread 127.0.0.1 "$PORT" alice wonderland 450 1.5 262144 ||
	fail "a client that reads late"
paused() { [ "$(pauses)" -gt "$pauses_before" ]; }
for _ in $(seq 30); do paused && break; sleep 0.1; done
paused || fail "the client that reads late never paused its relay: nothing was tested"
# Bursts of 30 datagrams of 3,000 bytes (90 KB) to a client that reads
# at once, through a queue of 64 KiB: the server reads no more at a time
# than the queue has room for.
client bigdata 127.0.0.1 "$PORT" alice wonderland 150 3000 30 ||
	fail "bursts larger than the client's queue"
client noread 127.0.0.1 "$PORT" alice wonderland 20000 5 || fail "a client that never reads"
for _ in $(seq 30); do
	"$STOREDUMP" "$WORK/state" | grep -q . || break
	sleep 0.1
done
[ -z "$("$STOREDUMP" "$WORK/state")" ] || fail "the dropped client's allocation was not deleted"

rm -f "$WORK/stop"
client idle 127.0.0.1 "$PORT" 1000 127.0.0.5 "$WORK/stop" >"$WORK/idle1.out" 2>&1 &
IDLE1=$!
client idle 127.0.0.1 "$PORT" 1000 many "$WORK/stop" >"$WORK/idle2.out" 2>&1 &
IDLE2=$!
trap 'touch "$WORK/stop"; cleanup' EXIT INT TERM
wait_for_line "$WORK/idle1.out" held || fail "idle clients: $(cat "$WORK/idle1.out")"
wait_for_line "$WORK/idle2.out" held || fail "idle clients: $(cat "$WORK/idle2.out")"
held1=$(sed -n 's/^held \([0-9]*\) .*/\1/p' "$WORK/idle1.out")
held2=$(sed -n 's/^held \([0-9]*\) .*/\1/p' "$WORK/idle2.out")
fds_idle=$(workers_fds)
rss_idle=$(workers_rss)
echo "idle connections held: $held1 of 1000 from one address, $held2 of 1000 from ten;" \
	"worker descriptors $fds_before -> $fds_idle, RSS $rss_before -> $rss_idle kB"
[ "$held1" -le 200 ] || fail "one address holds $held1 connections, bound 2 x 100"
[ $((held1 + held2)) -le 600 ] || fail "$((held1 + held2)) pending connections, bound 2 x 300"
[ "$fds_idle" -le $((fds_before + 600 + 20)) ] || fail "descriptors grew to $fds_idle"
# About 1 KiB of bufferevent per held connection, far less than a
# buffer per connection; ASan's quarantine adds its share.
[ $((rss_idle - rss_before)) -lt 32768 ] || fail "RSS grew by $((rss_idle - rss_before)) kB"

# Real clients, from an address of their own, relay meanwhile.
client relay 127.0.0.1 "$PORT" alice wonderland || fail "a real TCP client while flooded"
client relay 127.0.0.1 "$TLS_PORT" alice wonderland tls "$WORK/server.pem" ||
	fail "a real TLS client while flooded"
if "$PYTHON" -c 'import aioice' 2>/dev/null; then
	timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
		alice wonderland 50 tcp || fail "aioice while flooded"
fi

# stream-auth-timeout closes every idle connection.
sleep 7
fds_after=$(workers_fds)
echo "after the timeout: worker descriptors $fds_after"
[ "$fds_after" -le $((fds_before + 2)) ] || fail "descriptors did not come back: $fds_before -> $fds_after"
touch "$WORK/stop"
wait "$IDLE1" "$IDLE2" || true
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
[ "$(worker_pids | wc -l)" -eq 2 ] || fail "a worker died"
echo "PASS"
