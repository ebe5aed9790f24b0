#!/bin/sh
# turnpiked -t accepts a good configuration and rejects a bad one with
# "file:line: problem" and exit status 1.
. "$(dirname "$0")/lib.sh"

PORT=3478
write_config "$WORK/good.conf" ""
out=$("$TURNPIKED" -t -c "$WORK/good.conf" 2>&1) || fail "good config rejected: $out"

write_config "$WORK/bad.conf" "relm = example.org"
set +e
out=$("$TURNPIKED" -t -c "$WORK/bad.conf" 2>&1)
status=$?
set -e
[ "$status" -eq 1 ] || fail "bad config: exit $status, want 1"
line=$(grep -n '^relm' "$WORK/bad.conf" | cut -d: -f1)
echo "$out" | grep -q "$WORK/bad.conf:$line:" ||
	fail "error does not name file:line: $out"
echo "$out" | grep -q "realm" || fail "no suggestion in: $out"

set +e
out=$("$TURNPIKED" -t -c "$WORK/missing.conf" 2>&1)
status=$?
set -e
[ "$status" -eq 1 ] || fail "missing config: exit $status, want 1"
echo "$out" | grep -q "missing.conf" || fail "missing file not named: $out"
echo "PASS"
