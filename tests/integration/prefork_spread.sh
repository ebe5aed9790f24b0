#!/bin/sh
# Load spreads over the workers: 400 live allocations from distinct source
# ports over 4 workers, counted per worker from the store while they are
# all live; no worker may hold more than 1.5 times its fair share (DESIGN.md
# section 2: on kernels before 6.13 connected sockets stay in the
# reuseport group and can skew this).
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
workers = 4
user = alice:wonderland
log-level = info"
sed -i '/^log-level = debug$/d' "$WORK/turnpike.conf"
start_turnpiked "$WORK/turnpike.conf"

hold alice 127.0.0.1 "$PORT" alice wonderland 400 120
counts=$(allocations_per_worker)
release alice
echo "allocations per worker (index count):"
echo "$counts"
total=$(echo "$counts" | awk '{s += $2} END {print s}')
[ "$total" -eq 400 ] || fail "the store holds $total allocations, want 400"
[ "$(echo "$counts" | wc -l)" -eq 4 ] || fail "not every worker took allocations"
max=$(echo "$counts" | awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}')
[ "$max" -le 150 ] || fail "one worker holds $max of 400 (fair share 100, limit 150)"
echo "PASS"
