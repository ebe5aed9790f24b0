#!/bin/sh
# turnpikectl serve-metrics: the counters over HTTP for Prometheus, read
# by the Prometheus client's own parser. The families are those of
# `counters --prometheus`; a Binding moves rx_datagrams in the next scrape;
# other paths are 404, other methods refused; with turnpiked gone a scrape
# is 503 with the reason; SIGTERM ends the server with status 0. A bad or
# busy --listen, and --listen with another command, are refused.
. "$(dirname "$0")/lib.sh"

: "${TURNPIKECTL:=$(pwd)/turnpikectl}"
CONF=$WORK/turnpike.conf
PORT=$(free_port)
HTTP_PORT=$(other_port "$PORT")
write_config "$CONF" "relay-address = 127.0.0.1
workers = 2
user = alice:wonderland"
start_turnpiked "$CONF"

SERVE_PID=
trap '[ -z "$SERVE_PID" ] || kill "$SERVE_PID" 2>/dev/null; cleanup' EXIT INT TERM
"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "127.0.0.1:$HTTP_PORT" \
	>"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
wait_for_line "$WORK/serve.out" "serving http://127.0.0.1:$HTTP_PORT/metrics" ||
	fail "serve-metrics did not start: $(cat "$WORK/serve.out" "$WORK/serve.err")"

# scrape [PATH [METHOD]]: "STATUS CONTENT-TYPE" on the first line, the
# body after.
scrape() {
	"$PYTHON" - "$HTTP_PORT" "${1:-/metrics}" "${2:-GET}" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request(sys.argv[3], sys.argv[2])
r = c.getresponse()
print(r.status, r.getheader("Content-Type"))
sys.stdout.write(r.read().decode())
PY
}

# The families of a scrape and of `counters --prometheus`, parsed.
scrape >"$WORK/scrape"
head -n 1 "$WORK/scrape" | grep -qx '200 text/plain; version=0.0.4; charset=utf-8' ||
	fail "scrape: $(head -n 3 "$WORK/scrape")"
"$TURNPIKECTL" -c "$CONF" counters --prometheus >"$WORK/counters.prom" ||
	fail "counters --prometheus"
"$PYTHON" - "$WORK/scrape" "$WORK/counters.prom" <<'PY' || fail "the scrape does not parse as counters --prometheus does"
import sys
from prometheus_client.parser import text_string_to_metric_families

def families(path, skip_first_line):
    text = open(path).read()
    if skip_first_line:
        text = text.split("\n", 1)[1]
    return {f.name: f for f in text_string_to_metric_families(text)}

served = families(sys.argv[1], True)
printed = families(sys.argv[2], False)
assert set(served) == set(printed), set(served) ^ set(printed)
assert served["turnpike_rx_datagrams"].type == "counter"
assert served["turnpike_allocations_live"].type == "gauge"
levels = {s.labels["level"] for s in
          served["turnpike_rate_limit_passed"].samples}
assert levels == {"allocation", "user", "server"}, levels
PY
echo "ok: a scrape has the families of counters --prometheus"

# rx_datagrams moves with traffic (the snapshot is published once a
# second).
rx() {
	scrape | sed -n 's/^turnpike_rx_datagrams_total \([0-9]*\)$/\1/p'
}
before=$(rx)
"$PYTHON" "$TESTS_DIR/stunprobe.py" wait 127.0.0.1 "$PORT" || fail "Binding"
moved() { [ "$(rx)" -gt "$before" ]; }
wait_until 5 moved || fail "rx_datagrams did not move: $before, then $(rx)"
echo "ok: a scrape after a Binding counts it"

[ "$(scrape /other | head -n 1 | cut -d' ' -f1)" = 404 ] || fail "/other: $(scrape /other)"
status=$(scrape /metrics POST | head -n 1 | cut -d' ' -f1)
[ "$status" -ge 400 ] && [ "$status" -lt 600 ] || fail "POST /metrics: $status"
[ "$(scrape /metrics HEAD | head -n 1 | cut -d' ' -f1)" = 200 ] || fail "HEAD /metrics"
echo "ok: 404 for other paths, POST refused ($status), HEAD answered"

# A second server on the same port, a bad --listen, --listen elsewhere.
rc=0
"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "127.0.0.1:$HTTP_PORT" \
	>/dev/null 2>"$WORK/busy.err" || rc=$?
[ "$rc" = 1 ] && grep -q "cannot listen on 127.0.0.1 port $HTTP_PORT" "$WORK/busy.err" ||
	fail "a busy port: exit $rc, $(cat "$WORK/busy.err")"
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 ':80' '[::1:80' 127.0.0.1:x; do
	rc=0
	"$TURNPIKECTL" -c "$CONF" serve-metrics --listen "$bad" >/dev/null 2>"$WORK/bad.err" || rc=$?
	[ "$rc" = 2 ] && grep -q -- "--listen wants" "$WORK/bad.err" ||
		fail "--listen $bad: exit $rc, $(cat "$WORK/bad.err")"
done
rc=0
"$TURNPIKECTL" -c "$CONF" status --listen 127.0.0.1:1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--listen with status: exit $rc"
echo "ok: a busy port, bad --listen values and --listen elsewhere are refused"

# turnpiked gone: 503 and the reason; the server stays up.
kill -TERM "$TURNPIKED_PID"
wait "$TURNPIKED_PID" 2>/dev/null || true
TURNPIKED_PID=
scrape >"$WORK/down"
head -n 1 "$WORK/down" | grep -q '^503 ' || fail "scrape with turnpiked gone: $(cat "$WORK/down")"
grep -q "pid" "$WORK/down" || fail "no reason in the 503: $(cat "$WORK/down")"
echo "ok: 503 with the reason while turnpiked is not running"

kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
SERVE_PID=
[ "$rc" = 0 ] || fail "serve-metrics exited $rc on SIGTERM: $(cat "$WORK/serve.err")"
echo "ok: SIGTERM ends serve-metrics with status 0"
