#!/bin/sh
# No socket before authentication: 100,000 unauthenticated Allocates from
# 10,000 source ports leave every process's descriptors and memory where
# they were.
. "$(dirname "$0")/lib.sh"

# Under AddressSanitizer freed memory waits in a quarantine (256 MB by
# default) and shows as RSS; OpenSSL's HMAC frees what it allocates per
# nonce. A small quarantine keeps the measurement about our state.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
export ASAN_OPTIONS

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland"
sed -i '/^log-level = debug$/d' "$WORK/turnpike.conf"
start_turnpiked "$WORK/turnpike.conf"

snapshot() {
	for pid in $TURNPIKED_PID $(worker_pids); do
		echo "$pid $(fd_count "$pid") $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
	done
}
# A first, smaller flood warms the allocators' caches (and ASan's shadow
# pages), so that the measured one shows state, not start-up.
"$PYTHON" "$TESTS_DIR/turnclient.py" flood-many 127.0.0.1 "$PORT" 20000 2000 >/dev/null
sleep 1
before=$(snapshot)
"$PYTHON" "$TESTS_DIR/turnclient.py" flood-many 127.0.0.1 "$PORT" 100000 10000 ||
	fail "flood"
sleep 1
after=$(snapshot)
echo "pid fds rss_kB before:"; echo "$before"
echo "pid fds rss_kB after:"; echo "$after"
echo "$before" | while read -r pid fds rss; do
	line=$(echo "$after" | grep "^$pid ")
	[ -n "$line" ] || fail "process $pid is gone"
	set -- $line
	[ "$2" -eq "$fds" ] || fail "process $pid: descriptors $fds -> $2"
	[ $(($3 - rss)) -lt 2048 ] || fail "process $pid: RSS grew $rss -> $3 kB"
done
"$PYTHON" "$TESTS_DIR/turnclient.py" quota 127.0.0.1 "$PORT" alice wonderland 1 1 ||
	fail "a real client cannot allocate after the flood"
echo "PASS"
