#!/bin/sh
# turnpiked -t accepts a good configuration and rejects a bad one with
# "file:line: problem" and exit status 1.
. "$(dirname "$0")/lib.sh"

PORT=3478
write_config "$WORK/good.conf" ""
out=$("$TURNPIKED" -t -c "$WORK/good.conf" 2>&1) || fail "good config rejected: $out"
# The long options say the same (turnpiked(8) OPTIONS).
out=$("$TURNPIKED" --test --config "$WORK/good.conf" 2>&1) ||
	fail "good config rejected with --test --config: $out"
"$TURNPIKED" --version | grep -q '^turnpiked [0-9]' || fail "--version"
"$TURNPIKED" --help | grep -q -- '--workers' || fail "--help"
if "$TURNPIKED" --no-such-option >/dev/null 2>&1; then
	fail "an unknown option was accepted"
fi

# refused FILE: turnpiked -t exits 1; its output is left in $out.
refused() {
	set +e
	out=$("$TURNPIKED" -t -c "$1" 2>&1)
	status=$?
	set -e
	[ "$status" -eq 1 ] || fail "$1: exit $status, want 1: $out"
}

write_config "$WORK/bad.conf" "relm = example.org"
refused "$WORK/bad.conf"
line=$(grep -n '^relm' "$WORK/bad.conf" | cut -d: -f1)
echo "$out" | grep -q "$WORK/bad.conf:$line:" ||
	fail "error does not name file:line: $out"
echo "$out" | grep -q "realm" || fail "no suggestion in: $out"

refused "$WORK/missing.conf"
echo "$out" | grep -q "missing.conf" || fail "missing file not named: $out"

# -t also loads what a tls:// listener needs: a key that does not match
# the certificate, an unknown cipher and a missing file are refused.
if command -v openssl >/dev/null 2>&1; then
	make_cert one
	make_cert two
	tls="listen = tls://127.0.0.1:5349
tls-cert = $WORK/one.pem"
	write_config "$WORK/tls.conf" "$tls
tls-key = $WORK/one.key"
	out=$("$TURNPIKED" -t -c "$WORK/tls.conf" 2>&1) || fail "good TLS config rejected: $out"
	for extra in "tls-key = $WORK/two.key" \
		"tls-key = $WORK/one.key
tls-ciphers = NO-SUCH-CIPHER" \
		"tls-key = $WORK/missing.key"; do
		write_config "$WORK/tls.conf" "$tls
$extra"
		refused "$WORK/tls.conf"
		echo "$out" | grep -q "tls-" || fail "the TLS error names no key: $out"
	done
fi
echo "PASS"
