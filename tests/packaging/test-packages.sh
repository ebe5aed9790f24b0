#!/bin/sh
# The packages, end to end, as root on a Debian machine:
#   - `make deb`; the .deb's files, conffile and maintainer scripts; lintian;
#   - apt-get install; the account, the conffile's owner and mode, the state
#     directory, `turnpiked -t` on the packaged configuration;
#   - the unit's ExecStartPre and ExecStart run by hand as systemd would
#     (systemd is not PID 1 here): as turnpike, with its capabilities and
#     descriptor limit; a STUN Binding to 127.0.0.1:3478; ExecReload; stop;
#   - an upgrade to a newer version that keeps a changed conffile;
#   - apt-get remove, then purge: nothing of the package is left;
#   - `make rpm`; its files, config flags and scriptlets; rpmlint.
# The machine is left as it was found, except the turnpike account, which
# stays after a purge (Debian policy). The package is never started by the
# package manager here (policy-rc.d), the daemon never outlives the test, and
# the only traffic goes to 127.0.0.1.
#
# usage: sh tests/packaging/test-packages.sh [BUILD-DIR]
#   BUILD-DIR (default build/packages) is configured if it is not already.
set -eu
cd "$(dirname "$0")/../.."
TOP=$(pwd)
BUILD=${1:-build/packages}
UNIT_NAME=turnpiked.service
METRICS_UNIT=turnpike-metrics.service
CONF=/etc/turnpike/turnpike.conf
PORT=3478

passed=0
work=
daemon_pid=
metrics_pid=
workers=
installed_by_us=
policy_rc_by_us=
run_dir_by_us=

say() { printf 'packages: %s\n' "$*"; }
ok() {
	passed=$((passed + 1))
	say "ok: $*"
}
fail() {
	say "FAIL: $*" >&2
	exit 1
}
check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}' turnpike 2>/dev/null || true; }
not_installed() { case "$(pkg_status)" in "" | "un ") return 0 ;; esac; return 1; }

stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	if kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		i=0
		while kill -0 "$daemon_pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	for w in $workers; do kill -KILL "$w" 2>/dev/null || true; done
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=
}

cleanup() {
	rc=$?
	set +e
	stop_daemon
	# The metrics server, when a check failed while it ran.
	if [ -n "$metrics_pid" ]; then
		kill -TERM "$metrics_pid" 2>/dev/null
		wait "$metrics_pid" 2>/dev/null
	fi
	if [ -n "$installed_by_us" ] && ! not_installed; then
		say "cleanup: purging turnpike"
		dpkg --purge turnpike >/dev/null 2>&1
	fi
	[ -n "$run_dir_by_us" ] && rm -rf /run/turnpike
	[ -n "$policy_rc_by_us" ] && rm -f /usr/sbin/policy-rc.d
	[ -n "$work" ] && rm -rf "$work"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- preconditions ---------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail "run as root: it installs and purges the package"
for c in dpkg-buildpackage dh lintian rpmbuild apt-get setpriv unshare systemctl ss turnutils_stunclient; do
	command -v "$c" >/dev/null ||
		fail "$c not found: install packaging/debian-build-deps.txt"
done
not_installed || fail "turnpike is already installed here (dpkg status" \
	"'$(pkg_status)'): this test installs and purges it; run apt-get purge turnpike first"
[ ! -e /etc/turnpike ] || fail "/etc/turnpike exists: not a clean machine"
[ ! -e /var/lib/turnpike ] || fail "/var/lib/turnpike exists: not a clean machine"
if [ -n "$(ss -Hlun "sport = :$PORT")" ]; then
	ss -Hlunp "sport = :$PORT" >&2
	fail "UDP port $PORT is in use (above): the packaged configuration" \
		"listens on it; stop that server first"
fi
if getent passwd turnpike >/dev/null; then
	say "the turnpike account exists already (left by an earlier purge)"
fi
work=$(mktemp -d)
chmod 0755 "$work" # apt's _apt user reads the .deb from here
started=$(date +%s)

# --- build -----------------------------------------------------------------
[ -x configure ] || autoreconf -fi
mkdir -p "$BUILD"
if [ ! -f "$BUILD/Makefile" ]; then
	(cd "$BUILD" && "$TOP/configure" -q --disable-tests)
fi
say "make deb"
(cd "$BUILD" && make -s deb) >"$work/deb.log" 2>&1 || {
	tail -n 60 "$work/deb.log" >&2
	fail "make deb"
}
set -- "$BUILD"/packages/turnpike_*.deb
[ $# -eq 1 ] && [ -f "$1" ] || fail "expected one .deb, got: $*"
cp "$1" "$work/"
deb=$work/$(basename "$1")
ok "make deb: $(basename "$deb") in $(($(date +%s) - started)) s"

# Every path of the package, and those of them the machine has before the
# install (/usr/sbin, /etc, ...): after the purge only those may exist.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep . >"$work/deb.files"
while read -r f; do
	if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
done <"$work/deb.files" >"$work/existed.files"
for f in /usr/sbin/turnpiked /etc/turnpike/turnpike.conf \
	/usr/share/man/man8/turnpiked.8.gz /usr/share/man/man5/turnpike.conf.5.gz \
	/usr/share/doc/turnpike/copyright; do
	check "the .deb has $f" grep -qx "$f" "$work/deb.files"
done
check "the .deb has the unit $UNIT_NAME" \
	grep -Eqx "(/usr)?/lib/systemd/system/$UNIT_NAME" "$work/deb.files"
check "the .deb has the unit $METRICS_UNIT" \
	grep -Eqx "(/usr)?/lib/systemd/system/$METRICS_UNIT" "$work/deb.files"
say "programs in the .deb: $(grep -E '^/usr/s?bin/.' "$work/deb.files" | xargs)"
dpkg-deb -e "$deb" "$work/control"
check "turnpike.conf is a conffile" grep -qx "$CONF" "$work/control/conffiles"
check "postinst creates the account" grep -q 'adduser --system' "$work/control/postinst"
check "postinst enables and starts the unit (restarts it on upgrade)" \
	sh -c "grep -q 'deb-systemd-helper.*enable' '$work/control/postinst' &&
		grep -q '_dh_action=restart' '$work/control/postinst'"
check "prerm stops the unit on remove" \
	grep -q "deb-systemd-invoke stop.*$UNIT_NAME" "$work/control/prerm"
# deb-systemd-invoke starts no disabled unit and restarts one only if it
# runs: the metrics unit stays down until enabled, and comes back after
# an upgrade once it is.
check "postinst starts or restarts $METRICS_UNIT through deb-systemd-invoke" \
	grep -q "deb-systemd-invoke \$_dh_action '$METRICS_UNIT'" "$work/control/postinst"
check "postrm purges /var/lib/turnpike" grep -q 'rm -rf /var/lib/turnpike' "$work/control/postrm"

# lintian (which would rather not run as root): no error; the rest is printed.
chmod 0644 "$deb"
setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$work" \
	lintian --fail-on error --display-info --show-overrides "$deb" >"$work/lintian.log" 2>&1 || {
	cat "$work/lintian.log" >&2
	fail "lintian reports errors"
}
sed 's/^/  lintian: /' "$work/lintian.log"
ok "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors," \
	"$(grep -c '^W:' "$work/lintian.log" || true) warnings," \
	"$(grep -c '^I:' "$work/lintian.log" || true) info," \
	"$(grep -c '^O:' "$work/lintian.log" || true) overridden"

# --- install ---------------------------------------------------------------
# Where systemd runs, the package would start turnpiked on 0.0.0.0:3478:
# policy-rc.d stops the maintainer scripts from starting anything.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	policy_rc_by_us=1
fi
installed_by_us=1
say "apt-get install $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	"$deb" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	fail "apt-get install"
}
check "dpkg says installed" [ "$(pkg_status)" = "ii " ]
dpkg -L turnpike >"$work/installed.files"
check "turnpiked -V" sh -c '/usr/sbin/turnpiked -V | grep -q "^turnpiked "'
check "the turnpike account is a system account with no login" sh -c '
	ent=$(getent passwd turnpike) &&
	uid=$(echo "$ent" | cut -d: -f3) && [ "$uid" -lt 1000 ] &&
	case "$ent" in *nologin | *false) ;; *) exit 1 ;; esac &&
	getent group turnpike >/dev/null'
check "$CONF is root:turnpike 0640" \
	[ "$(stat -c '%U:%G %a' "$CONF")" = "root:turnpike 640" ]
check "/var/lib/turnpike is turnpike:turnpike 0750" \
	[ "$(stat -c '%U:%G %a' /var/lib/turnpike)" = "turnpike:turnpike 750" ]
unit=$(grep -E "^(/usr)?/lib/systemd/system/$UNIT_NAME\$" "$work/installed.files")
check "the unit is enabled (multi-user.target.wants)" \
	[ -L "/etc/systemd/system/multi-user.target.wants/$UNIT_NAME" ]
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify $unit" sh -c \
		"systemd-analyze verify --man=no '$unit' >'$work/verify.log' 2>&1 &&
		 ! grep . '$work/verify.log'"
fi
check "turnpiked -t -c $CONF" /usr/sbin/turnpiked -t -c "$CONF"

# --- the unit's commands, run as systemd would -------------------------------
unit_key() { sed -n "s/^$1=//p" "$unit" | head -n 1; }
unit_user=$(unit_key User)
unit_group=$(unit_key Group)
nofile=$(unit_key LimitNOFILE)
caps=$(unit_key AmbientCapabilities | tr '[:upper:]' '[:lower:]' | sed 's/cap_//g; s/ /,+/g')
# RuntimeDirectory= and StateDirectory= (StateDirectoryMode=0750).
if [ ! -d /run/turnpike ]; then
	install -d -o "$unit_user" -g "$unit_group" -m 0755 /run/turnpike
	run_dir_by_us=1
fi
install -d -o "$unit_user" -g "$unit_group" -m 0750 /var/lib/turnpike
# LimitNOFILE=, or the hard limit where the test may not raise it (a sandbox).
if ! (ulimit -n "$nofile") 2>/dev/null; then
	say "LimitNOFILE=$nofile is above what this machine allows; using $(ulimit -Hn)"
	nofile=$(ulimit -Hn)
fi
as_unit() { # replaces the shell: call it in a subshell
	ulimit -n "$nofile"
	exec setpriv --reuid="$unit_user" --regid="$unit_group" --init-groups \
		--no-new-privs --inh-caps=-all,+"$caps" \
		--ambient-caps=-all,+"$caps" --bounding-set=-all,+"$caps" "$@"
}
# The unit's command lines, split on blanks as systemd does (no quotes there).
# shellcheck disable=SC2046
start_pre() { (as_unit $(unit_key ExecStartPre)); }
check "ExecStartPre as $unit_user: $(unit_key ExecStartPre)" start_pre
say "ExecStart as $unit_user: $(unit_key ExecStart)"
# shellcheck disable=SC2046
(as_unit $(unit_key ExecStart)) >"$work/daemon.log" 2>&1 &
daemon_pid=$!
i=0
while [ $i -lt 50 ]; do
	kill -0 "$daemon_pid" 2>/dev/null || {
		cat "$work/daemon.log" >&2
		fail "turnpiked exited at start"
	}
	[ -s /run/turnpike/turnpiked.pid ] && [ -n "$(ss -Hlun "sport = :$PORT")" ] && break
	sleep 0.2
	i=$((i + 1))
done
[ $i -lt 50 ] || {
	cat "$work/daemon.log" >&2
	fail "turnpiked did not write its pid file and listen within 10 s"
}
workers=$(pgrep -P "$daemon_pid" | tr '\n' ' ')
check "the pid file names the master" [ "$(cat /run/turnpike/turnpiked.pid)" = "$daemon_pid" ]
run_as() { # run_as USER PID...: every PID runs as USER
	u=$1
	shift
	for p in "$@"; do [ "$(ps -o user= -p "$p")" = "$u" ] || return 1; done
	[ $# -gt 0 ]
}
[ -n "$workers" ] || fail "the master has no worker processes"
# shellcheck disable=SC2086 # a list of pids
check "the master and its workers run as $unit_user" run_as "$unit_user" "$daemon_pid" $workers
check "the master has LimitNOFILE=$nofile" \
	grep -Eq "^Max open files +$nofile " "/proc/$daemon_pid/limits"
# The unit's ambient CAP_BPF loads the steering programs at start; then the
# master keeps CAP_NET_BIND_SERVICE alone (for listeners below 1024 on a
# reload), and its workers inherit exactly that.
only_bind_service() { # only_bind_service PID...
	for p in "$@"; do
		grep -q '^CapPrm:[[:space:]]*0000000000000400$' "/proc/$p/status" &&
			grep -q '^CapEff:[[:space:]]*0000000000000400$' "/proc/$p/status" &&
			grep -q '^CapAmb:[[:space:]]*0000000000000000$' "/proc/$p/status" ||
			return 1
	done
}
# shellcheck disable=SC2086 # a list of pids
check "the master and its workers keep only CAP_NET_BIND_SERVICE" \
	only_bind_service "$daemon_pid" $workers
check "the steering programs were loaded with the unit's CAP_BPF" \
	grep -q 'steering loaded' "$work/daemon.log"
stun() {
	timeout 10 turnutils_stunclient -p "$PORT" 127.0.0.1 >"$work/stun.log" 2>&1 &&
		grep -q 'UDP reflexive addr: 127\.0\.0\.1:' "$work/stun.log"
}
check "a STUN Binding to 127.0.0.1:$PORT is answered" stun
if [ -x /usr/bin/turnpikectl ]; then
	check "turnpikectl status finds it through the packaged pid file and state" \
		sh -c "/usr/bin/turnpikectl -c '$CONF' status >'$work/ctl.log' 2>&1 ||
			{ cat '$work/ctl.log' >&2; exit 1; }"
	check "turnpikectl users add and list, as root, in the running daemon's store" \
		sh -c "echo pw | /usr/bin/turnpikectl -c '$CONF' users add pkgtest >/dev/null &&
			/usr/bin/turnpikectl -c '$CONF' users list | grep -qx pkgtest"
fi
# The metrics server's unit: installed, not enabled; its command, as its
# user with its (empty) capability set, serves the running daemon's
# counters over HTTP and stops on SIGTERM with status 0.
metrics_unit=$(grep -E "^(/usr)?/lib/systemd/system/$METRICS_UNIT\$" "$work/installed.files")
check "$METRICS_UNIT is not enabled" \
	[ ! -e "/etc/systemd/system/multi-user.target.wants/$METRICS_UNIT" ]
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify $metrics_unit" sh -c \
		"systemd-analyze verify --man=no '$metrics_unit' >'$work/verify-metrics.log' 2>&1 &&
			! grep -q . '$work/verify-metrics.log' ||
			{ cat '$work/verify-metrics.log' >&2; exit 1; }"
fi
metrics_user=$(sed -n 's/^User=//p' "$metrics_unit")
metrics_listen=$(sed -n 's/^ExecStart=.*--listen //p' "$metrics_unit")
# ProtectSystem=strict, as near as a mount namespace of our own comes: the
# whole tree read-only but the unit's ReadWritePaths= ("-": if they
# exist) and StateDirectory=. turnpikectl refuses a state directory it could read only
# without LMDB's lock file, so a unit that left it out fails here.
metrics_rw=$({
	sed -n 's/^ReadWritePaths=//p' "$metrics_unit" | tr ' ' '\n' | sed 's/^-//'
	sed -n 's/^StateDirectory=//p' "$metrics_unit" | tr ' ' '\n' | sed 's|^|/var/lib/|'
} | grep . || true)
check "$METRICS_UNIT makes the state directory writable" \
	sh -c "echo '$metrics_rw' | grep -qx /var/lib/turnpike"
# Where this machine refuses a mount namespace (a container without
# CAP_SYS_ADMIN), the command runs without the read-only tree.
protect_system=
if unshare -m true 2>/dev/null; then
	protect_system=1
else
	say "no mount namespace here: the metrics command runs without ProtectSystem's read-only tree"
fi
# strict_tree RW COMMAND...: COMMAND with the tree read-only but RW.
strict_tree() {
	if [ -z "$protect_system" ]; then
		shift
		exec "$@"
	fi
	# shellcheck disable=SC2016 # the inner script expands its own $1, $@
	exec unshare -m sh -c 'mount --make-rprivate / &&
		for dir in $1; do [ ! -d "$dir" ] || mount --bind "$dir" "$dir" || exit; done &&
		mount -o remount,ro,bind / && shift && exec "$@"' sh "$@"
}
# shellcheck disable=SC2046 # ExecStart's words
(strict_tree "$metrics_rw" \
	setpriv --reuid="$metrics_user" --regid="$metrics_user" --init-groups --no-new-privs \
	--inh-caps=-all --bounding-set=-all \
	$(sed -n 's/^ExecStart=//p' "$metrics_unit")) >"$work/metrics.out" 2>"$work/metrics.err" &
metrics_pid=$!
scrape_metrics() {
	/usr/bin/python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://$metrics_listen/metrics" >"$work/metrics.txt" 2>/dev/null &&
		grep -q '^turnpike_rx_datagrams_total [0-9]' "$work/metrics.txt"
}
i=0
until scrape_metrics || [ $i -ge 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
scrape_metrics || cat "$work/metrics.err" >&2 || true
check "$METRICS_UNIT's command serves the daemon's counters on $metrics_listen as $metrics_user" \
	scrape_metrics
kill -TERM "$metrics_pid"
status=0
wait "$metrics_pid" || status=$?
metrics_pid=
check "it stops on SIGTERM with status 0" [ "$status" -eq 0 ]
# The store's durable environment (users, quotas), made by the daemon.
check "/var/lib/turnpike/durable is $unit_user:$unit_group 0750" \
	[ "$(stat -c '%U:%G %a' /var/lib/turnpike/durable)" = "$unit_user:$unit_group 750" ]
kill -HUP "$daemon_pid" # ExecReload
sleep 0.5
check "after ExecReload (SIGHUP) the master still runs" kill -0 "$daemon_pid"
check "after ExecReload it still answers STUN" stun
kill -TERM "$daemon_pid" # KillSignal=SIGTERM, KillMode=mixed
i=0
while kill -0 "$daemon_pid" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
status=0
wait "$daemon_pid" || status=$?
check "SIGTERM stops it with status 0" [ "$status" -eq 0 ]
daemon_pid=
gone() { # gone PID...: none of them runs
	for p in "$@"; do ! kill -0 "$p" 2>/dev/null || return 1; done
}
# shellcheck disable=SC2086 # a list of pids
check "its workers are gone" gone $workers
workers=
check "the pid file is removed" [ ! -e /run/turnpike/turnpiked.pid ]
check "nothing listens on $PORT any more" [ -z "$(ss -Hlun "sport = :$PORT")" ]

# A file with an error: ExecStartPre fails, so systemd never runs ExecStart.
cp -p "$CONF" "$work/conf.saved"
echo 'relm = typo.example' >>"$CONF"
start_pre_refuses() {
	! start_pre >"$work/pre.log" 2>&1 && grep -q "^turnpiked: $CONF:[0-9]*: " "$work/pre.log"
}
check "ExecStartPre refuses a file with an error, naming its line" start_pre_refuses
cp -p "$work/conf.saved" "$CONF"

# --- upgrade ---------------------------------------------------------------
# The same package as a later version (+test1): the old prerm upgrade, the
# new postinst configure, with a conffile the administrator changed.
echo '# changed by the administrator' >>"$CONF"
dpkg-deb -R "$deb" "$work/next"
sed -i 's/^Version: \(.*\)$/Version: \1+test1/' "$work/next/DEBIAN/control"
dpkg-deb -b "$work/next" "$work/next.deb" >/dev/null
# The operator enabled the metrics server: the upgrade keeps it enabled.
metrics_wants=/etc/systemd/system/multi-user.target.wants/$METRICS_UNIT
systemctl enable "$METRICS_UNIT" >/dev/null 2>&1 || fail "systemctl enable $METRICS_UNIT"
dpkg -i --force-confold "$work/next.deb" >"$work/upgrade.log" 2>&1 || {
	cat "$work/upgrade.log" >&2
	fail "dpkg -i (upgrade)"
}
check "an enabled $METRICS_UNIT stays enabled through the upgrade" [ -L "$metrics_wants" ]
check "upgraded to $(dpkg-query -W -f='${Version}' turnpike)" [ "$(pkg_status)" = "ii " ]
check "the changed conffile is kept" grep -q 'changed by the administrator' "$CONF"
check "$CONF is still root:turnpike 0640" \
	[ "$(stat -c '%U:%G %a' "$CONF")" = "root:turnpike 640" ]
check "turnpiked -t passes after the upgrade" /usr/sbin/turnpiked -t -c "$CONF"

# --- remove, purge -----------------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q turnpike >"$work/remove.log" 2>&1 || {
	cat "$work/remove.log" >&2
	fail "apt-get remove"
}
check "after remove: dpkg status rc" [ "$(pkg_status)" = "rc " ]
check "after remove: turnpiked is gone" [ ! -e /usr/sbin/turnpiked ]
check "after remove: the conffile stays" [ -f "$CONF" ]
check "after remove: /var/lib/turnpike stays" [ -d /var/lib/turnpike ]
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q turnpike >"$work/purge.log" 2>&1 || {
	cat "$work/purge.log" >&2
	fail "apt-get purge"
}
check "after purge: dpkg knows no turnpike" not_installed
left=
while read -r f; do
	case $f in "" | /.) continue ;; esac
	if [ -e "$f" ] || [ -L "$f" ]; then
		grep -qxF "$f" "$work/existed.files" || left="$left $f"
	fi
done <"$work/installed.files"
check "after purge: none of the package's files is left${left:+ (left:$left)}" [ -z "$left" ]
for f in /etc/turnpike /var/lib/turnpike /run/turnpike \
	"/etc/systemd/system/multi-user.target.wants/$UNIT_NAME" \
	"/var/lib/systemd/deb-systemd-helper-enabled/$UNIT_NAME.dsh-also" \
	"$metrics_wants" \
	"/var/lib/systemd/deb-systemd-helper-enabled/$METRICS_UNIT.dsh-also"; do
	check "after purge: $f is gone" sh -c "[ ! -e '$f' ] && [ ! -L '$f' ]"
done
run_dir_by_us=
check "after purge: no stat override on $CONF" sh -c "! dpkg-statoverride --list '$CONF' >/dev/null"
getent passwd turnpike >/dev/null && say "the turnpike account stays after purge (Debian policy)"
installed_by_us=

# --- rpm -------------------------------------------------------------------
say "make rpm"
t=$(date +%s)
(cd "$BUILD" && make -s rpm) >"$work/rpm.log" 2>&1 || {
	tail -n 60 "$work/rpm.log" >&2
	fail "make rpm"
}
set -- "$BUILD"/packages/turnpike-[0-9]*.rpm
[ $# -eq 1 ] && [ -f "$1" ] || fail "expected one .rpm, got: $*"
rpm=$1
ok "make rpm: $(basename "$rpm") in $(($(date +%s) - t)) s"
rpm -qlp "$rpm" >"$work/rpm.files" 2>/dev/null
for re in /usr/sbin/turnpiked "/usr/lib/systemd/system/$UNIT_NAME" \
	"/usr/lib/systemd/system/$METRICS_UNIT" \
	'/usr/share/man/man8/turnpiked\.8(\.gz)?' '/usr/share/man/man5/turnpike\.conf\.5(\.gz)?' \
	/usr/lib/sysusers.d/turnpike.conf /etc/turnpike/turnpike.conf /var/lib/turnpike; do
	check "the .rpm has $re" grep -Eqx "$re" "$work/rpm.files"
done
say "programs in the .rpm: $(grep -E '^/usr/s?bin/.' "$work/rpm.files" | xargs)"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' \
	"$rpm" 2>/dev/null >"$work/rpm.flags"
check "$CONF is %config(noreplace), root:turnpike 0640" \
	grep -Eq "^[a-z]*c[a-z]*n[a-z]* -rw-r----- root:turnpike $CONF\$" "$work/rpm.flags"
rpm -qp --scripts "$rpm" >"$work/rpm.scripts" 2>/dev/null
scriptlet_has() { # scriptlet_has NAME REGEX: rpm -qp --scripts' NAME scriptlet matches
	awk -v s="$1 scriptlet" 'index($0, s) == 1 { on = 1; next } /scriptlet/ { on = 0 } on' \
		"$work/rpm.scripts" | grep -Eq "$2"
}
check "%pre adds the turnpike account" scriptlet_has preinstall 'useradd .*turnpike'
check "%post presets the unit" scriptlet_has postinstall \
	"preset .*$UNIT_NAME|systemd-update-helper install-system-units $UNIT_NAME"
check "%preun disables and stops it on erase" scriptlet_has preuninstall \
	"disable --now .*$UNIT_NAME|systemd-update-helper remove-system-units $UNIT_NAME"
check "%postun try-restarts it on upgrade" scriptlet_has postuninstall \
	"try-restart .*$UNIT_NAME|systemd-update-helper mark-restart-system-units $UNIT_NAME"
if command -v rpmlint >/dev/null; then
	# The filters in turnpike.rpmlintrc say why each finding is not a fault.
	status=0
	rpmlint -r packaging/rpm/turnpike.rpmlintrc packaging/rpm/turnpike.spec "$rpm" \
		>"$work/rpmlint.log" 2>&1 || status=$?
	grep -E ': [EW]: |checked;' "$work/rpmlint.log" | sed 's/^/  rpmlint: /'
	check "rpmlint: no error" [ "$status" -eq 0 ]
fi

say "all $passed checks passed in $(($(date +%s) - started)) s"
