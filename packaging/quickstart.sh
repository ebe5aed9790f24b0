#!/bin/sh
# The README's two commands, for a fresh Debian 12 machine, run as root:
#   sh packaging/quickstart.sh demo   install, build, start turnpiked on loopback
#   sh packaging/quickstart.sh test   install, build, run the whole test suite
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)

install_deps() {
	pkgs=$(grep -v '^#' packaging/debian-build-deps.txt | tr '\n' ' ')
	missing=
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "quickstart: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# coturn's package would start its server; we use only its clients.
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		apt-get install -y -qq --no-install-recommends $missing
		rm -f /usr/sbin/policy-rc.d
	fi
	# Never leave coturn's server running (its package may start it).
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now coturn >/dev/null 2>&1 || true
	fi
	pkill -x turnserver 2>/dev/null || true
}

# build DIR CONFIGURE-ARGS...: an out-of-tree build.
build() {
	dir=$1
	shift
	[ -x configure ] || autoreconf -fi
	mkdir -p "$dir"
	(cd "$dir" && "$TOP/configure" -q "$@" && make -j"$(nproc)" -s)
}

demo() {
	install_deps
	build build/demo --disable-tests
	mkdir -p run
	port=${TURNPIKE_DEMO_PORT:-3478}
	cat >run/demo.conf <<CONF
# A demo turnpiked on loopback. Not for production: see turnpike.conf(5).
listen = udp://127.0.0.1:$port
relay-address = 127.0.0.1
realm = demo.turnpike
user = demo:demo-password
allow-peer = 127.0.0.0/8
# coturn's turnutils_uclient picks channel numbers up to 0x7FFF (RFC 5766)
channel-numbers = rfc5766
log = stderr
log-level = info
state-dir = $TOP/run/state
pid-file = $TOP/run/turnpiked.pid
CONF
	if [ -f run/turnpiked.pid ] && kill -0 "$(cat run/turnpiked.pid)" 2>/dev/null; then
		kill "$(cat run/turnpiked.pid)"
		sleep 1
	fi
	build/demo/turnpiked -t -c run/demo.conf
	nohup build/demo/turnpiked -f -c run/demo.conf >run/turnpiked.log 2>&1 &
	echo $! >run/turnpiked.pid
	sleep 1
	kill -0 "$(cat run/turnpiked.pid)" || { cat run/turnpiked.log; exit 1; }
	cat <<MSG

turnpiked is running on udp://127.0.0.1:$port (pid $(cat run/turnpiked.pid), log run/turnpiked.log).
  STUN:  turnutils_stunclient -p $port 127.0.0.1
  TURN:  turnutils_uclient -p $port -u demo -w demo-password -y 127.0.0.1
  stop:  kill \$(cat run/turnpiked.pid)
MSG
}

tests() {
	install_deps
	# The main build runs under AddressSanitizer and UBSan.
	build build/check --enable-asan --enable-werror
	(cd build/check && make -j"$(nproc)" check) || {
		for f in build/check/tests/*/*.log; do
			grep -q '^FAIL\|^ERROR' "$f" 2>/dev/null && { echo "== $f"; tail -n 60 "$f"; }
		done
		exit 1
	}
	# The decoders under libFuzzer (a short pass; `make fuzz` runs longer).
	build build/fuzz CC=clang --enable-fuzzing --disable-tests
	(cd build/fuzz && make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}")
	# The .deb and .rpm: built, and the .deb installed, run, upgraded and
	# purged on this machine (tests/packaging/test-packages.sh), so only in
	# CI or when asked.
	if [ "${CI:-}" = true ] || [ "${TURNPIKE_TEST_PACKAGES:-}" = 1 ]; then
		sh tests/packaging/test-packages.sh build/packages
	fi
	echo "quickstart: all tests passed"
}

case "${1:-}" in
demo) demo ;;
test) tests ;;
*)
	echo "usage: sh packaging/quickstart.sh demo|test" >&2
	exit 2
	;;
esac
