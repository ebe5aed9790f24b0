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

start_peer

run_uclient "channels, static user" "$PORT" -m 4 -u alice -w wonderland
run_uclient "send indications, static user" "$PORT" -s -m 4 -u alice -w wonderland
run_uclient "channels, REST API" "$PORT" -m 3 -u bob -W "$SECRET"
run_uclient "send indications, REST API" "$PORT" -s -m 3 -u bob -W "$SECRET"

# A wrong password relays nothing.
set +e
out=$(timeout 20 turnutils_uclient -n 5 -e 127.0.0.1 -r "$PEER_PORT" \
	-p "$PORT" -u alice -w wrong 127.0.0.1 2>&1)
set -e
echo "$out" | grep -q 'tot_recv_msgs=[1-9]' && fail "wrong password relayed"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died"
echo "PASS"
