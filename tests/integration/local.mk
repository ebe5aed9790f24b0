# Integration tests: turnpiked on loopback driven by real clients.
INTEGRATION_TESTS = \
	tests/integration/config_check.sh \
	tests/integration/config_effects.sh \
	tests/integration/stun_binding.sh \
	tests/integration/turn_uclient.sh \
	tests/integration/turn_aioice.sh \
	tests/integration/session_log.sh \
	tests/integration/revocation.sh \
	tests/integration/revoke.sh \
	tests/integration/turn_errors.sh \
	tests/integration/turn_hostile.sh \
	tests/integration/prefork_quota.sh \
	tests/integration/prefork_spread.sh \
	tests/integration/prefork_crash.sh \
	tests/integration/prefork_flood.sh \
	tests/integration/bench_smoke.sh \
	tests/integration/flood_fairness.sh \
	tests/integration/ctl.sh \
	tests/integration/serve_metrics.sh \
	tests/integration/store_users.sh \
	tests/integration/reload.sh \
	tests/integration/rate_limits.sh \
	tests/integration/generation.sh \
	tests/integration/generation_drain.sh \
	tests/integration/generation_return.sh \
	tests/integration/generation_spread.sh \
	tests/integration/single_instance.sh \
	tests/integration/turn_stream.sh \
	tests/integration/stream_hostile.sh \
	tests/integration/reload_tls.sh \
	tests/integration/wildcard_listener.sh

TESTS += $(INTEGRATION_TESTS)
check_PROGRAMS += tests/integration/storedump
tests_integration_storedump_SOURCES = tests/integration/storedump.c
tests_integration_storedump_LDADD = $(TURNPIKE_LIBS)
check_PROGRAMS += tests/integration/storeforge
tests_integration_storeforge_SOURCES = tests/integration/storeforge.c
tests_integration_storeforge_CPPFLAGS = $(AM_CPPFLAGS) $(LMDB_CFLAGS)
tests_integration_storeforge_LDADD = $(TURNPIKE_LIBS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh \
	tests/integration/stunprobe.py tests/integration/turnclient.py \
	tests/integration/aioice_client.py tests/integration/streamclient.py
AM_TESTS_ENVIRONMENT = TURNPIKED='$(abs_top_builddir)/turnpiked'; \
	TURNPIKECTL='$(abs_top_builddir)/turnpikectl'; \
	STOREDUMP='$(abs_top_builddir)/tests/integration/storedump'; \
	STOREFORGE='$(abs_top_builddir)/tests/integration/storeforge'; \
	TURNPIKE_BENCH='$(abs_top_builddir)/turnpike-bench'; \
	export TURNPIKED TURNPIKECTL STOREDUMP STOREFORGE TURNPIKE_BENCH;
