#!/bin/sh
# turnpiked answers STUN Binding requests from coturn's turnutils_stunclient
# with the right mapped address, drops hostile datagrams without answering,
# never answers with more than it was sent beyond the bare mandatory reply,
# and keeps serving afterwards.
. "$(dirname "$0")/lib.sh"
need turnutils_stunclient

PORT=$(free_port)
write_config "$WORK/turnpike.conf" ""
start_turnpiked "$WORK/turnpike.conf"

out=$(timeout 10 turnutils_stunclient -p "$PORT" 127.0.0.1 2>&1) ||
	fail "turnutils_stunclient failed: $out"
echo "$out"
echo "$out" | grep -Eq 'UDP reflexive addr: 127\.0\.0\.1:[0-9]+' ||
	fail "no reflexive address 127.0.0.1 in: $out"

"$PYTHON" "$TESTS_DIR/stunprobe.py" sizes 127.0.0.1 "$PORT" ||
	fail "amplification check"
"$PYTHON" "$TESTS_DIR/stunprobe.py" garbage 127.0.0.1 "$PORT" 2000 ||
	fail "hostile datagrams were answered"
kill -0 "$TURNPIKED_PID" || fail "turnpiked died on hostile input"

out=$(timeout 10 turnutils_stunclient -p "$PORT" 127.0.0.1 2>&1) ||
	fail "no answer after hostile input: $out"
echo "$out" | grep -q 'UDP reflexive addr: 127.0.0.1' ||
	fail "wrong answer after hostile input: $out"
echo "PASS"
