#!/bin/sh
# coturn's turnutils_uclient relays through turnpiked to turnutils_peer on
# loopback: channel mode and Send-indication mode, several clients, static
# users and TURN REST API credentials. Every message must come back.
. "$(dirname "$0")/lib.sh"
need turnutils_uclient
need turnutils_peer

PORT=$(free_port)
PEER_PORT=$(free_port)
SECRET=rest-secret-$$
write_config "$WORK/turnpike.conf" "relay-address = 127.0.0.1
user = alice:wonderland
auth-secret = $SECRET
allow-peer = 127.0.0.0/8
# turnutils_uclient picks channel numbers in RFC 5766's range.
channel-numbers = rfc5766"
start_turnpiked "$WORK/turnpike.conf"

turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$WORK/peer.log" 2>&1 &
PEER_PID=$!
trap 'kill $PEER_PID 2>/dev/null; cleanup' EXIT INT TERM

# run_uclient NAME ARGS...: 40 messages per client, all must return.
run_uclient() {
	name=$1
	shift
	out=$(timeout 60 turnutils_uclient -n 40 -l 120 -z 5 -e 127.0.0.1 \
		-r "$PEER_PORT" -p "$PORT" "$@" 127.0.0.1 2>&1) ||
		fail "$name: turnutils_uclient failed: $(echo "$out" | tail -5)"
	summary=$(echo "$out" | grep 'tot_send_msgs=[0-9]*, tot_recv_msgs' | tail -1)
	lost=$(echo "$out" | grep 'Total lost packets' | tail -1)
	echo "$name: $summary; $lost"
	sent=$(echo "$summary" | sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p')
	recv=$(echo "$summary" | sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p')
	[ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "$name: nothing sent: $out"
	[ "$sent" = "$recv" ] || fail "$name: sent $sent, received $recv"
	echo "$out" | grep -q 'error' && fail "$name: errors: $(echo "$out" | grep error | head -3)"
	return 0
}

run_uclient "channels, static user" -m 4 -u alice -w wonderland
run_uclient "send indications, static user" -s -m 4 -u alice -w wonderland
run_uclient "channels, REST API" -m 3 -u bob -W "$SECRET"
run_uclient "send indications, REST API" -s -m 3 -u bob -W "$SECRET"

# A wrong password relays nothing.
set +e
out=$(timeout 20 turnutils_uclient -n 5 -e 127.0.0.1 -r "$PEER_PORT" \
	-p "$PORT" -u alice -w wrong 127.0.0.1 2>&1)
set -e
echo "$out" | grep -q 'tot_recv_msgs=[1-9]' && fail "wrong password relayed"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
