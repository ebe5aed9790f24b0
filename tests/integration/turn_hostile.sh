#!/bin/sh
# Hostile input creates no state: a flood of unauthenticated Allocates
# from many source ports, garbage, truncated and bit-flipped requests and
# wrong integrity leave the daemon's descriptors where they were, and a
# real client (aioice) still relays afterwards.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = alice:wonderland
allow-peer = 127.0.0.0/8"
start_turnpiked "$WORK/turnpike.conf"

fds_before=$(fd_count "$TURNPIKED_PID")
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$TURNPIKED_PID/status")
"$PYTHON" "$TESTS_DIR/turnclient.py" flood 127.0.0.1 "$PORT" 2000 ||
	fail "unauthenticated flood"
"$PYTHON" "$TESTS_DIR/turnclient.py" hostile 127.0.0.1 "$PORT" alice wonderland ||
	fail "hostile datagrams"
"$PYTHON" "$TESTS_DIR/stunprobe.py" garbage 127.0.0.1 "$PORT" 2000 ||
	fail "garbage was answered"
fds_after=$(fd_count "$TURNPIKED_PID")
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$TURNPIKED_PID/status")
echo "descriptors $fds_before -> $fds_after, RSS ${rss_before} kB -> ${rss_after} kB"
[ "$fds_before" -eq "$fds_after" ] || fail "descriptors grew: $fds_before -> $fds_after"
# No per-source state: memory may move by allocator noise, not by the flood.
[ $((rss_after - rss_before)) -lt 2048 ] || fail "RSS grew by $((rss_after - rss_before)) kB"

timeout 60 "$PYTHON" "$TESTS_DIR/aioice_client.py" 127.0.0.1 "$PORT" \
	alice wonderland 50 || fail "a real client no longer relays"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
